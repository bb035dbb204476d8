# registry_cache_link_ttl against the real registry: a link is answered from the cache for the
# TTL, then confirmed upstream again before it answers; a blob deleted behind the edge's back
# stops being served once its link is that old, and one still there is learned afresh.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Registry;
use File::Path qw(remove_tree);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG};
our $Accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/link-ttl");

# A blob of its own in e2e/link-ttl, pushed straight to the registry (a new one each run).
our $Doomed = RegistryCache::Registry::push_blob($Port, 'e2e/link-ttl', "a blob deleted behind the edge's back " . time . " $$");

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<_EOC_) unless defined $block->http_config;
    registry_cache_path \$TEST_NGINX_CACHE_DIR/link-ttl zone=edge:1m max_size=16m;
_EOC_
    $block->set_value(config => <<_EOC_) unless defined $block->config;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass \@registry;
        registry_cache_link_ttl 3s;
        registry_cache_tag_ttl 1h;
    }
    location \@registry {
        proxy_pass http://127.0.0.1:$Port;
    }
    location /direct/ {
        proxy_pass http://127.0.0.1:$Port/;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: within the TTL a link answers from the cache, even once deleted upstream
(a TTL of three seconds; the edge counts whole seconds: these requests have two at least)
--- request eval
["HEAD /v2/e2e/link-ttl/blobs/$::Doomed", "HEAD /v2/e2e/link-ttl/blobs/$::Doomed", "HEAD /v2/demo/hello/blobs/$::Config",
 "DELETE /direct/v2/e2e/link-ttl/blobs/$::Doomed", "HEAD /v2/e2e/link-ttl/blobs/$::Doomed",
 "GET /v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
["", "", "", "", "", $::Accept, $::Accept]
--- error_code eval
[200, 200, 200, 202, 200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 1b: (the TTL runs out: the harness waits after this block's one request)
--- request
GET /v2/
--- error_code: 200
--- wait: 3.1



=== TEST 2: past it, the upstream is asked again: the deleted blob is its 404, the other learned afresh, and a tag whose manifest link is that old too (within its own TTL)
--- request eval
["HEAD /v2/e2e/link-ttl/blobs/$::Doomed", "HEAD /v2/demo/hello/blobs/$::Config", "HEAD /v2/demo/hello/blobs/$::Config",
 "GET /v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
["", "", "", $::Accept, $::Accept]
--- error_code eval
[404, 200, 200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 3: registry_cache_link_ttl takes a time
--- http_config
    registry_cache_path $TEST_NGINX_CACHE_DIR/link-ttl-bad zone=bad:1m;
--- config
    location /v2/ {
        registry_cache bad;
        registry_cache_pass @registry;
        registry_cache_link_ttl soon;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_link_ttl" directive invalid value
