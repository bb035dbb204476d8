# Hole 6 of issue 9: what a hit says about a blob (Content-Type above all) is what the
# upstream said in that repository, and an answer to a request with credentials changes no
# public entry. The upstream is a second server of the same nginx, on a unix socket: an
# honest registry (its bodies hash to their digests) whose repositories disagree about the
# media type of one blob, and which names yet another type to requests with Authorization.
# Needs TEST_NGINX_CACHE_DIR (scripts/test.sh). Blocks run in order and share one cache.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use Digest::SHA qw(sha256_hex);
use File::Path qw(remove_tree);

remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/media-types");

# The blob's bytes and its digest, the same in every repository.
our $Body = "the bytes of one blob\n";
our $Digest = 'sha256:' . sha256_hex($Body);
$ENV{TEST_NGINX_BLOB_BODY} = $Body =~ s/\n/\\n/r;

our $TypeA = 'application/vnd.oci.image.layer.v1.tar+gzip';
our $TypeB = 'application/octet-stream';
our $TypeCredentialed = 'application/x-only-for-this-token';

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<_EOC_);
    registry_cache_path \$TEST_NGINX_CACHE_DIR/media-types zone=types:1m max_size=16m;

    server {
        listen unix:\$TEST_NGINX_SERVROOT/upstream.sock;

        location ~ "^/v2/team-a/app/blobs/(?<blob>sha256:[0-9a-f]{64})\$" {
            if (\$http_authorization) {
                rewrite ^ /credentialed last;
            }
            default_type $TypeA;
            add_header Docker-Content-Digest \$blob;
            return 200 "\$TEST_NGINX_BLOB_BODY";
        }
        location ~ "^/v2/team-b/app/blobs/(?<blob>sha256:[0-9a-f]{64})\$" {
            default_type $TypeB;
            add_header Docker-Content-Digest \$blob;
            return 200 "\$TEST_NGINX_BLOB_BODY";
        }
        location = /credentialed {
            internal;
            default_type $TypeCredentialed;
            add_header Docker-Content-Digest \$blob;
            return 200 "\$TEST_NGINX_BLOB_BODY";
        }
    }
_EOC_
    $block->set_value(config => <<'_EOC_');
    add_header X-Cache-Status $registry_cache_status always;
    location /v2/ {
        registry_cache types;
        registry_cache_pass @registry;
    }
    location @registry {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/upstream.sock:;
    }
_EOC_
});

# Response header lines for --- response_headers: status of the cache, type and length.
sub seen {
    my ($status, $type) = @_;
    return "X-Cache-Status: $status\nContent-Type: $type\nContent-Length: " . length($Body)
        . "\nDocker-Content-Digest: $Digest";
}

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: team-a learns the blob with its own media type
--- request eval
["HEAD /v2/team-a/app/blobs/$::Digest", "HEAD /v2/team-a/app/blobs/$::Digest"]
--- response_headers eval
[main::seen('MISS', $::TypeA), main::seen('HIT', $::TypeA)]



=== TEST 2: team-b's upstream names another type: team-b's hits show it, team-a's do not
--- request eval
["HEAD /v2/team-b/app/blobs/$::Digest", "HEAD /v2/team-b/app/blobs/$::Digest",
 "HEAD /v2/team-a/app/blobs/$::Digest"]
--- response_headers eval
[main::seen('MISS', $::TypeB), main::seen('HIT', $::TypeB), main::seen('HIT', $::TypeA)]



=== TEST 3: an answer to a request with credentials in team-a changes none of the hits
--- request eval
["GET /v2/team-a/app/blobs/$::Digest", "HEAD /v2/team-a/app/blobs/$::Digest",
 "HEAD /v2/team-b/app/blobs/$::Digest"]
--- more_headers eval
["Authorization: Bearer a-token-of-its-own", "", ""]
--- response_body eval
[$::Body, "", ""]
--- response_headers eval
[main::seen('BYPASS', $::TypeCredentialed), main::seen('HIT', $::TypeA),
 main::seen('HIT', $::TypeB)]
--- no_error_log
digest mismatch
