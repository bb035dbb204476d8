# A registry that redirects blob GETs and HEADs to its storage, followed in the edge as README
# "Registries that redirect blobs" configures it, against registries played by this nginx:
# what an answer that came through the redirect may teach, and what may confirm a link past
# registry_cache_link_ttl. Needs TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use Digest::SHA qw(sha256_hex);
use File::Path qw(remove_tree);

remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/redirected");

# The blob every registry here holds, and its storage sends.
our $Body = "a blob its registry keeps in storage";
our $Blob = 'sha256:' . sha256_hex($Body);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(main_config => "thread_pool verify threads=2;");
    $block->set_value(http_config => edge_http(dir => 'redirected', params => 'blobs_max_size=16m', http => <<_EOC_));
    # The registry of tenant-b: a blob's GET or HEAD is redirected to its storage.
    server {
        listen unix:\$TEST_NGINX_SERVROOT/redirected-registry.sock;
        server_name tenant-b;
        location /v2/ {
            return 307 http://unix:\$TEST_NGINX_SERVROOT/redirected-storage.sock:/objects/blob;
        }
    }
    # A registry behind a sign-in: a session that has run out is redirected to its login
    # page (200, a page), one still good to the storage; "X-Session: lax" is answered 200
    # (a page) whatever is asked.
    server {
        listen unix:\$TEST_NGINX_SERVROOT/redirected-registry.sock;
        server_name signin;
        location /v2/ {
            if (\$http_x_session = expired) {
                return 302 http://unix:\$TEST_NGINX_SERVROOT/redirected-storage.sock:/login;
            }
            if (\$http_x_session = lax) {
                return 200 "<html>sign in</html>";
            }
            return 307 http://unix:\$TEST_NGINX_SERVROOT/redirected-storage.sock:/objects/blob;
        }
    }
    # Every other Host's registry (tenant-a's): it holds no blob.
    server {
        listen unix:\$TEST_NGINX_SERVROOT/redirected-registry.sock default_server;
        location /v2/ {
            default_type application/json;
            return 404 '{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}';
        }
    }
    server {
        listen unix:\$TEST_NGINX_SERVROOT/redirected-storage.sock;
        location = /objects/blob {
            default_type application/octet-stream;
            return 200 "$Body";
        }
        location = /login {
            default_type text/html;
            return 200 "<html>sign in</html>";
        }
    }
_EOC_
    $block->set_value(config => edge_config(
        upstream => 'unix:$TEST_NGINX_SERVROOT/redirected-registry.sock:',
        v2 => "registry_cache_link_ttl 2s;\nregistry_cache_verify threads=verify;\nregistry_cache_use_stale error timeout;",
        upstream_config => "proxy_set_header Host \$http_host;\nproxy_intercept_errors on;\n"
                         . "error_page 301 302 303 307 308 = \@storage;",
        more => <<'_EOC_'));
    location @storage {
        set $storage_url $upstream_http_location;
        proxy_pass $storage_url;
        proxy_set_header Authorization "";
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: control: tenant-b's redirected blob is fetched from its storage, verified, kept and learned for tenant-b
--- request eval
["GET /v2/lib/app/blobs/$::Blob", "GET /v2/lib/app/blobs/$::Blob"]
--- more_headers
Host: tenant-b
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]
--- response_body eval
[$::Body, $::Body]



=== TEST 2: a request line naming tenant-a with tenant-b's Host header (the Host header went to the registry, tenant-b's answered): nothing is learned for tenant-a, whose registry holds no such blob
--- request eval
["GET http://tenant-a/v2/lib/other/blobs/$::Blob HTTP/1.1", "GET /v2/lib/other/blobs/$::Blob"]
--- more_headers eval
["Host: tenant-b", "Host: tenant-a"]
--- error_code eval
[200, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 3: control: a good session's redirected blob is learned for the sign-in registry's Host
--- request eval
["GET /v2/lib/signed/blobs/$::Blob", "GET /v2/lib/signed/blobs/$::Blob"]
--- more_headers
Host: signin
X-Session: good
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 3b: (the link's TTL runs out: the harness waits after this block's one request)
--- request
GET /v2/
--- error_code: 404
--- wait: 2.1



=== TEST 4: past the TTL, a session that ran out is redirected to the login page, followed, whose 200 names no digest: that confirms nothing (it was REVALIDATED and the blob sent); the client's GET goes upstream, where the page is no blob: its transfer is cut before a byte
--- request eval
"GET /v2/lib/signed/blobs/$::Blob"
--- more_headers
Host: signin
X-Session: expired
--- error_code_like: ^(?!200)
--- error_log
the transfer is cut
upstream: "http://unix:
redirected-storage.sock:/login"



=== TEST 5: nor a registry's own 200 naming no digest, no redirect before it (a registry answering 200 to anything)
--- request eval
"GET /v2/lib/signed/blobs/$::Blob"
--- more_headers
Host: signin
X-Session: lax
--- error_code_like: ^(?!200)
--- error_log
the transfer is cut



=== TEST 6: control: a good session past the TTL is REVALIDATED by the storage's 200 (the blob's length) behind the redirect
--- request eval
"GET /v2/lib/signed/blobs/$::Blob"
--- more_headers
Host: signin
X-Session: good
--- response_headers
X-Cache-Status: REVALIDATED
--- response_body eval
$::Body
