# A lying upstream teaches the cache nothing: each lie is answered twice, and the second
# answer must again be a MISS (nothing recorded) with the upstream's answer or a 502, while
# the honest control case becomes a HIT (so the set-up could have recorded the lies).
# Needs TEST_NGINX_CACHE_DIR (scripts/test.sh).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::LyingUpstream;
use Digest::SHA qw(sha256_hex);
use File::Path qw(remove_tree);

remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/lies");
RegistryCache::LyingUpstream::start();

# Two HEADs of /v2/lie/<kind>/blobs/<a digest of its own>.
sub twice {
    my ($kind) = @_;
    my $request = "HEAD /v2/lie/$kind/blobs/sha256:" . sha256_hex($kind);
    return [$request, $request];
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<'_EOC_');
    registry_cache_path $TEST_NGINX_CACHE_DIR/lies zone=lies:1m max_size=16m;
_EOC_
    $block->set_value(config => <<'_EOC_');
    add_header X-Cache-Status $registry_cache_status always;
    location /v2/ {
        registry_cache lies;
        registry_cache_pass @registry;
    }
    location @registry {
        proxy_pass http://127.0.0.1:$TEST_NGINX_LIAR_PORT;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: control: the truth is learned
--- request eval
main::twice('honest')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 2: Docker-Content-Digest of another blob
--- request eval
main::twice('wrong-digest')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 3: no Docker-Content-Digest
--- request eval
main::twice('no-digest')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 4: Docker-Content-Digest sent twice
--- request eval
main::twice('two-digests')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 5: a Content-Length that is no number (nginx 1.22 passes the lie on to the client)
--- request eval
main::twice('text-length')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 6: a negative Content-Length
--- request eval
main::twice('negative-length')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 7: a bare CR inside Content-Type
--- request eval
main::twice('cr-in-type')
--- error_code eval
[502, 502]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]
--- error_log
upstream sent invalid header



=== TEST 8: a media type of 300 bytes
--- request eval
main::twice('long-type')
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 9: a 500 that carries the right digest
--- request eval
main::twice('status-500')
--- error_code eval
[500, 500]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 10: the upstream resets the connection
--- request eval
main::twice('reset')
--- error_code eval
[502, 502]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]
--- error_log
Connection reset by peer
