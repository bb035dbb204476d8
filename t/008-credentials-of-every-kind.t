# A request that carries a credential of any kind (Authorization, Proxy-Authorization, a
# cookie, a query parameter other than containerd's `ns`) learns only a credentialed link:
# the anonymous request that follows is a MISS, never served what the upstream told a
# credentialed client. The upstream here (the real registry) ignores those headers and
# parameters and answers 200 to all: only the edge's rule makes the difference. Before the
# rule covered them (checked on 29171a5), the anonymous requests of blocks 2-4 were HITs, and
# a proxy_cache in the location served a body fetched with a cookie to anonymous clients
# (block 7).
# Each block has a cache of its own, so each starts empty.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_CONFIG and TEST_NGINX_CACHE_DIR.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use File::Path qw(remove_tree);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG} or die "TEST_NGINX_HELLO_CONFIG is not set";
our $Blob = "/v2/demo/hello/blobs/$Config";
remove_tree(glob "$ENV{TEST_NGINX_CACHE_DIR}/credentials-*");

add_block_preprocessor(sub {
    my $block = shift;
    my $cache = lc($block->name =~ s/\W+/-/gr);
    $block->set_value(http_config => edge_http(dir => "credentials-$cache")) unless defined $block->http_config;
    $block->set_value(config => edge_config(upstream => "127.0.0.1:$Port")) unless defined $block->config;
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: control: an anonymous answer is public
--- request eval
["HEAD $::Blob", "HEAD $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 2: Proxy-Authorization
--- request eval
["HEAD $::Blob", "HEAD $::Blob", "HEAD $::Blob"]
--- more_headers eval
["Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=", "", ""]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 3: a cookie
--- request eval
["HEAD $::Blob", "HEAD $::Blob", "HEAD $::Blob"]
--- more_headers eval
["Cookie: session=a-secret", "", ""]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 4: a token in the query string
--- request eval
["HEAD $::Blob?token=a-secret", "HEAD $::Blob", "HEAD $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 5: the namespace containerd sends to a mirror is no credential
--- request eval
["HEAD $::Blob?ns=docker.io", "HEAD $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 6: a credentialed request is still served a public entry
--- request eval
["HEAD $::Blob", "HEAD $::Blob?token=a-secret", "HEAD $::Blob"]
--- more_headers eval
["", "Cookie: session=a-secret", ""]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 7: nor does a proxy_cache of the location keep what a credentialed GET fetched
--- http_config
    registry_cache_path $TEST_NGINX_CACHE_DIR/credentials-proxy-cache zone=edge:1m max_size=16m;
    proxy_cache_path $TEST_NGINX_CACHE_DIR/credentials-bodies keys_zone=bodies:1m;
--- config eval
<<_EOC_
    add_header X-Proxy-Cache \$upstream_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass \@registry;
    }
    location \@registry {
        proxy_pass http://127.0.0.1:$::Port;
        proxy_cache bodies;
        proxy_cache_key \$uri;
        proxy_cache_valid 200 1h;
    }
_EOC_
--- request eval
["GET $::Blob", "GET $::Blob", "GET $::Blob"]
--- more_headers eval
["Cookie: session=a-secret", "", ""]
--- response_headers eval
["X-Proxy-Cache: MISS", "X-Proxy-Cache: MISS", "X-Proxy-Cache: HIT"]



=== TEST 8: a token after a semicolon, behind the namespace, is a credential too
--- request eval
["HEAD $::Blob?ns=docker.io;token=a-secret", "HEAD $::Blob", "HEAD $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]
