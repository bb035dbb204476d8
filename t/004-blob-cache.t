# The blob-descriptor cache against the real registry: a HEAD is a MISS once, then a HIT
# answered by the edge alone with the registry's own headers; scoped by repository; never
# serving what was learned with credentials; cleared by DELETE.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use RegistryCache::Registry;
use File::Path qw(remove_tree);
use HTTP::Tiny;
use Digest::SHA ();

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Layer = $ENV{TEST_NGINX_HELLO_LAYER};
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG};
remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/blob-cache");

our $http = HTTP::Tiny->new;

# The registry's own answer to a HEAD, as "Name: value" lines for --- response_headers, so
# that a hit is compared with what the registry says, field by field.
sub registry_head {
    my ($repo, $digest, %headers) = @_;
    my $res = $http->head("http://127.0.0.1:$Port/v2/$repo/blobs/$digest", { headers => \%headers });
    die "registry HEAD $repo $digest: $res->{status}" unless $res->{status} =~ /^(200|304)$/;
    my @names = qw(Content-Length Content-Type Docker-Content-Digest Etag Accept-Ranges
                   Cache-Control Docker-Distribution-Api-Version X-Content-Type-Options);
    return join "\n", map {
        my $v = $res->{headers}{lc $_};
        defined $v ? "$_: $v" : "!$_";
    } @names;
}

# The registry's status for a HEAD of the layer with these request headers.
sub registry_status {
    my (%headers) = @_;
    return $http->head("http://127.0.0.1:$Port/v2/demo/hello/blobs/$Layer",
                       { headers => \%headers })->{status};
}

our $LayerHeaders = registry_head('demo/hello', $Layer);
our $NotModifiedHeaders = registry_head('demo/hello', $Layer, 'If-None-Match' => qq{"$Layer"});

# A blob pushed only to e2e/deleted, for the DELETE test: POST then PUT, on the registry.
our $Deleted = "a blob that will be deleted through the edge";
our $DeletedDigest = RegistryCache::Registry::push_blob($Port, 'e2e/deleted', $Deleted);

# A blob pushed only to e2e/mount-source-<pid>, straight to the registry: the edge holds no
# link of it, for the mount test.
our $Unseen = RegistryCache::Registry::push_blob($Port, "e2e/mount-source-$$", "a blob the edge never saw $$ " . time);

# An upload opened straight at the registry, for a block to close through the edge.
our $Uploaded = "a blob uploaded through the edge $$ " . time;
our $UploadedDigest = 'sha256:' . Digest::SHA::sha256_hex($Uploaded);
our $Upload = RegistryCache::Registry::open_upload($Port, "e2e/uploaded-$$");

add_block_preprocessor(sub {
    my $block = shift;
    my $upstream = $block->dead_upstream ? '127.0.0.1:1' : "127.0.0.1:$Port";
    $block->set_value(http_config => edge_http(dir => 'blob-cache')) unless defined $block->http_config;
    $block->set_value(config => edge_config(upstream => $upstream, upstream_config => 'proxy_set_header Host $http_host;'))
        unless defined $block->config;
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: the first HEAD is a miss, answered by the registry
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- response_headers eval
"X-Cache-Status: MISS\n$::LayerHeaders"



=== TEST 2: the second is a hit with the registry's headers, field by field
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- response_headers eval
"X-Cache-Status: HIT\n$::LayerHeaders"
--- response_body



=== TEST 3: with the upstream gone the hit still answers, touching no upstream
--- dead_upstream: 1
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- response_headers eval
"X-Cache-Status: HIT\n$::LayerHeaders"
--- no_error_log
[error]
connect() failed



=== TEST 4: If-None-Match with the Etag: 304, as the registry answers it
--- dead_upstream: 1
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- more_headers eval
"If-None-Match: \"$::Layer\""
--- error_code: 304
--- response_headers eval
"X-Cache-Status: HIT\n$::NotModifiedHeaders"



=== TEST 5: a GET always streams from the upstream
--- dead_upstream: 1
--- request eval
"GET /v2/demo/hello/blobs/$::Layer"
--- error_code: 502
--- response_headers
X-Cache-Status: BYPASS
--- error_log
connect() failed



=== TEST 6: the layer was never confirmed in demo/other: the registry's 404, twice, not cached
--- request eval
["HEAD /v2/demo/other/blobs/$::Layer", "HEAD /v2/demo/other/blobs/$::Layer"]
--- error_code eval
[404, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 7: a blob in both repositories is a miss in each until each confirmed it
--- request eval
my $base = $ENV{TEST_NGINX_HELLO_BASE};
["HEAD /v2/demo/hello/blobs/$base", "HEAD /v2/demo/other/blobs/$base",
 "HEAD /v2/demo/other/blobs/$base", "HEAD /v2/demo/hello/blobs/$base"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 8: learned with credentials: not served to anyone until confirmed anonymously
--- request eval
["HEAD /v2/demo/hello/blobs/$::Config", "HEAD /v2/demo/hello/blobs/$::Config",
 "HEAD /v2/demo/hello/blobs/$::Config", "HEAD /v2/demo/hello/blobs/$::Config"]
--- more_headers eval
["Authorization: Basic dXNlcjpzZWNyZXQ=", "", "", "Authorization: Basic dXNlcjpzZWNyZXQ="]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 9: DELETE through the edge clears the link
--- request eval
["HEAD /v2/e2e/deleted/blobs/$::DeletedDigest", "HEAD /v2/e2e/deleted/blobs/$::DeletedDigest",
 "DELETE /v2/e2e/deleted/blobs/$::DeletedDigest", "HEAD /v2/e2e/deleted/blobs/$::DeletedDigest"]
--- error_code eval
[200, 200, 202, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: BYPASS", "X-Cache-Status: MISS"]



=== TEST 10: $registry_cache_status in log_format
--- http_config
    registry_cache_path $TEST_NGINX_CACHE_DIR/blob-cache zone=edge:1m max_size=16m;
    log_format cache_status '$request_method $status $registry_cache_status';
--- config
    location /v2/ {
        access_log logs/cache-status.log cache_status;
        registry_cache edge;
        registry_cache_pass @registry;
    }
    location @registry {
        access_log logs/cache-status.log cache_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_REGISTRY_PORT;
    }
    location = /log {
        alias logs/cache-status.log;
    }
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/sha256:" . ('0' x 64),
 "GET /v2/demo/hello/tags/list", "GET /log"]
--- error_code eval
[200, 404, 200, 200]
--- response_body eval
["", "", qq({"name":"demo/hello","tags":["1.0"]}\n), "HEAD 200 HIT\nHEAD 404 MISS\nGET 200 BYPASS\n"]



=== TEST 11: preconditions on a hit are decided as the registry decides them
--- dead_upstream: 1
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Layer",
 "HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Layer"]
--- more_headers eval
["If-Match: \"sha256:other\"", "If-None-Match: \"x\", W/\"$::Layer\"",
 "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT", "If-Match: *"]
--- error_code eval
[main::registry_status('If-Match' => '"sha256:other"'),
 main::registry_status('If-None-Match' => qq{"x", W/"$::Layer"}),
 main::registry_status('If-Unmodified-Since' => 'Sat, 01 Jan 2000 00:00:00 GMT'),
 main::registry_status('If-Match' => '*')]
--- response_headers eval
["X-Cache-Status: HIT", "X-Cache-Status: HIT", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 12: a HEAD with Range is the upstream's to answer
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- more_headers
Range: bytes=0-9
--- error_code eval
$::http->head("http://127.0.0.1:$::Port/v2/demo/hello/blobs/$::Layer",
              { headers => { Range => 'bytes=0-9' } })->{status}
--- response_headers
X-Cache-Status: BYPASS



=== TEST 13: an answer to a request rewritten on its way upstream teaches nothing
--- config
    add_header X-Cache-Status $registry_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass @registry;
    }
    location @registry {
        rewrite ^/v2/demo/other/(.*)$ /v2/demo/hello/$1 break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_REGISTRY_PORT;
    }
--- request eval
["HEAD /v2/demo/other/blobs/$::Config", "HEAD /v2/demo/other/blobs/$::Config"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 14: a GET with Range: the upstream's 206 passes, unverified and teaching nothing
--- request eval
"GET /v2/demo/hello/blobs/$::Layer"
--- more_headers
Range: bytes=0-9
--- error_code: 206
--- response_headers
X-Cache-Status: BYPASS
Content-Length: 10
--- no_error_log
digest mismatch



=== TEST 15: a cross-repository mount through the edge, answered 201, teaches the link with the source's size and type
(the mounted repository is a new one each run: the registry mounts the layer demo/hello holds)
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Layer",
 "POST /v2/e2e/mounted-$$/blobs/uploads/?mount=$::Layer&from=demo/hello", "HEAD /v2/e2e/mounted-$$/blobs/$::Layer"]
--- error_code eval
[200, 200, 201, 200]
--- response_headers eval
["", "X-Cache-Status: HIT", "", "X-Cache-Status: HIT\n$::LayerHeaders"]



=== TEST 16: a mount the edge holds no source link for teaches the link from one HEAD the edge asks the registry afterwards (never the client's word for a size): the next HEAD is a HIT with the registry's headers
--- request eval
["POST /v2/e2e/mounted-$$-b/blobs/uploads/?mount=$::Unseen&from=e2e/mount-source-$$", "HEAD /v2/e2e/mounted-$$-b/blobs/$::Unseen"]
--- error_code eval
[201, 200]
--- response_headers eval
["", "X-Cache-Status: HIT\n" . main::registry_head("e2e/mount-source-$$", $::Unseen)]



=== TEST 17: so does an upload through the edge of a body the edge does not keep (its closing PUT answered 201)
(the upload was opened straight at the registry, above)
--- request eval
["PUT $::Upload&digest=$::UploadedDigest\n$::Uploaded", "HEAD /v2/e2e/uploaded-$$/blobs/$::UploadedDigest"]
--- more_headers eval
["Content-Type: application/octet-stream", ""]
--- error_code eval
[201, 200]
--- response_headers eval
["", "X-Cache-Status: HIT\nContent-Length: " . length($::Uploaded) . "\nDocker-Content-Digest: $::UploadedDigest"]
