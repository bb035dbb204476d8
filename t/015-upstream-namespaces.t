# One edge for several upstreams: what one upstream answered never answers for another. The
# upstream is told apart by registry_cache_namespace (containerd's `ns` here) and, where the
# edge forwards the client's Host, by that Host. Behind the edge, a "virtual host" upstream
# sends the real registry's answers for one name (tenant2, or ns=hub) and 404 for any other.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use File::Path qw(remove_tree);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Layer = $ENV{TEST_NGINX_HELLO_LAYER};
our $Manifest = $ENV{TEST_NGINX_HELLO_MANIFEST};
our $LongNs = 'hub' . ('x' x 100);
our $Base = $ENV{TEST_NGINX_HELLO_BASE};
# Basic credentials of two tenants behind one upstream (t/015's own auth_basic files).
our $Alice = 'Authorization: Basic YWxpY2U6c2VjcmV0';  # alice:secret, of tenant "attacker" only
our $Bob = 'Authorization: Basic Ym9iOm90aGVy';        # bob:other, of tenant "victim" only
File::Path::make_path($ENV{TEST_NGINX_CACHE_DIR});
for (['alice:{PLAIN}secret', 'attacker'], ['bob:{PLAIN}other', 'victim']) {
    open my $fh, '>', "$ENV{TEST_NGINX_CACHE_DIR}/namespaces-$_->[1].users" or die "$!";
    print {$fh} "$_->[0]\n";
    close $fh;
}
remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/namespaces", "$ENV{TEST_NGINX_CACHE_DIR}/namespaces-basic");

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<_EOC_) unless defined $block->http_config;
    registry_cache_path \$TEST_NGINX_CACHE_DIR/namespaces zone=edge:1m max_size=16m;
    # The upstreams: the registry for tenant2 (by Host) and for ns=hub..., 404 for the rest.
    server {
        listen unix:\$TEST_NGINX_SERVROOT/vhosts.sock;
        server_name tenant2;
        location / {
            proxy_pass http://127.0.0.1:$Port;
        }
    }
    server {
        listen unix:\$TEST_NGINX_SERVROOT/vhosts.sock default_server;
        location / {
            add_header Docker-Distribution-Api-Version registry/2.0 always;
            default_type application/json;
            return 404 '{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}';
        }
    }
    map \$arg_ns \$ns_host {
        ~^hub   tenant2;
        default other;
    }
_EOC_
    $block->set_value(config => <<_EOC_) unless defined $block->config;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass \@vhosts;
        registry_cache_tag_ttl 1h;
    }
    location /ns/v2/ {
        rewrite ^/ns(/v2/.*)\$ \$1 break;
        registry_cache edge;
        registry_cache_pass \@by_ns;
        registry_cache_namespace \$arg_ns;
        registry_cache_tag_ttl 1h;
    }
    location \@vhosts {
        proxy_pass http://unix:\$TEST_NGINX_SERVROOT/vhosts.sock;
        proxy_set_header Host \$http_host;
    }
    location \@by_ns {
        proxy_pass http://unix:\$TEST_NGINX_SERVROOT/vhosts.sock;
        proxy_set_header Host \$ns_host;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: Host tenant2, forwarded: the first HEAD is a miss the registry answers
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- more_headers
Host: tenant2
--- error_code: 200
--- response_headers
X-Cache-Status: MISS



=== TEST 2: Host tenant2 again: a hit
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- more_headers
Host: tenant2
--- error_code: 200
--- response_headers
X-Cache-Status: HIT



=== TEST 3: another Host goes to another upstream, which has no such blob: its 404, never tenant2's entry (a HIT before)
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- more_headers
Host: localhost
--- error_code: 404
--- response_headers
X-Cache-Status: MISS



=== TEST 4: a Host that spells tenant2 otherwise (case, a port) is tenant2's as nginx reads it
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- more_headers
Host: TENANT2:8080
--- error_code: 200
--- response_headers
X-Cache-Status: HIT



=== TEST 5: a tag learned for tenant2 (a GET with its manifest) is a hit for tenant2 only
--- request
GET /v2/demo/hello/manifests/1.0
--- more_headers
Host: tenant2
Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json
--- error_code: 200
--- response_headers
X-Cache-Status: MISS



=== TEST 6: the tag again, Host tenant2: a hit
--- request
GET /v2/demo/hello/manifests/1.0
--- more_headers
Host: tenant2
Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json
--- error_code: 200
--- response_headers
X-Cache-Status: HIT



=== TEST 7: the tag with another Host: that upstream's 404
--- request
GET /v2/demo/hello/manifests/1.0
--- more_headers
Host: localhost
Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json
--- error_code: 404
--- response_headers
X-Cache-Status: MISS



=== TEST 8: ns=hub (Host not forwarded, chosen by the map): a miss, though tenant2 holds the blob (a namespace of its own)
--- request eval
"HEAD /ns/v2/demo/hello/blobs/$::Layer?ns=hub"
--- error_code: 200
--- response_headers
X-Cache-Status: MISS



=== TEST 9: ns=hub again: a hit
--- request eval
"HEAD /ns/v2/demo/hello/blobs/$::Layer?ns=hub"
--- error_code: 200
--- response_headers
X-Cache-Status: HIT



=== TEST 10: ns=quay, or no ns, is another upstream: its 404 (a HIT before)
--- request eval
["HEAD /ns/v2/demo/hello/blobs/$::Layer?ns=quay", "HEAD /ns/v2/demo/hello/blobs/$::Layer"]
--- error_code eval
[404, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 11: manifests by digest are kept per namespace as well
--- request eval
["GET /ns/v2/demo/hello/manifests/$::Manifest?ns=hub", "GET /ns/v2/demo/hello/manifests/$::Manifest?ns=hub", "GET /ns/v2/demo/hello/manifests/$::Manifest?ns=quay"]
--- more_headers
Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json
--- error_code eval
[200, 200, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS"]



=== TEST 12: a namespace value that is none (longer than 100 bytes) uses nothing of the cache, twice
--- request eval
["HEAD /ns/v2/demo/hello/blobs/$::Layer?ns=$::LongNs", "HEAD /ns/v2/demo/hello/blobs/$::Layer?ns=$::LongNs"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: BYPASS"]
--- error_log
no namespace (1 to 100 printable characters, no space)



=== TEST 13: the absolute form: the request line names localhost, the Host header tenant2, which went upstream: its answer is nobody's to learn
--- request eval
"HEAD http://localhost/v2/demo/hello/blobs/$::Base"
--- more_headers
Host: tenant2
--- error_code: 200
--- response_headers
X-Cache-Status: MISS
--- error_log
the Host header and the request line name two hosts, and the Host header went upstream: nothing learned



=== TEST 14: so Host: localhost still goes to its own upstream (a HIT of tenant2's blob before)
--- request eval
"HEAD /v2/demo/hello/blobs/$::Base"
--- more_headers
Host: localhost
--- error_code: 404
--- response_headers
X-Cache-Status: MISS



=== TEST 15: nor is a Basic credential one tenant accepted a proof for another, by the absolute form (alice proved herself for victim before)
--- http_config
    registry_cache_path $TEST_NGINX_CACHE_DIR/namespaces-basic zone=edge:1m max_size=16m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/gate.sock;
        server_name victim;
        location /v2/ {
            auth_basic victim;
            auth_basic_user_file $TEST_NGINX_CACHE_DIR/namespaces-victim.users;
            proxy_pass http://127.0.0.1:$TEST_NGINX_REGISTRY_PORT;
        }
    }
    server {
        listen unix:$TEST_NGINX_SERVROOT/gate.sock;
        server_name attacker;
        location /v2/ {
            auth_basic attacker;
            auth_basic_user_file $TEST_NGINX_CACHE_DIR/namespaces-attacker.users;
            proxy_pass http://127.0.0.1:$TEST_NGINX_REGISTRY_PORT;
        }
    }
--- config
    add_header X-Cache-Status $registry_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass @registry;
        registry_cache_credential_ttl 60s;
    }
    location @registry {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/gate.sock;
        proxy_set_header Host $http_host;
    }
--- request eval
["HEAD /v2/demo/hello/blobs/$::Base", "HEAD /v2/demo/hello/blobs/$::Base", "HEAD http://victim/v2/demo/hello/blobs/$::Base", "HEAD /v2/demo/hello/blobs/$::Base"]
--- more_headers eval
["$::Bob\nHost: victim", "$::Alice\nHost: victim", "$::Alice\nHost: attacker", "$::Alice\nHost: victim"]
--- error_code eval
[200, 401, 200, 401]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS"]
