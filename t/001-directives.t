# Directive parsing: good configurations load, bad ones stop nginx with an [emerg] that
# names the directive and the value. Needs TEST_NGINX_LOAD_MODULES to load the module.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use Cwd qw(abs_path);

# The roots and keys of the unit tests' token vectors, for registry_cache_token_trust.
$ENV{TEST_NGINX_TOKEN_VECTORS} = abs_path('t/unit/vectors');

# The edge's upstream credentials of mirror mode (edge:secret).
use File::Temp qw(tempdir);
my $cred_dir = tempdir(CLEANUP => 1);
open(my $cred, '>', "$cred_dir/registry.cred") or die "$cred_dir/registry.cred: $!";
print $cred "edge:secret\n";
close($cred);
$ENV{TEST_NGINX_CRED_FILE} = "$cred_dir/registry.cred";
open($cred, '>', "$cred_dir/other.cred") or die "$cred_dir/other.cred: $!";
print $cred "other:pass\n";
close($cred);
$ENV{TEST_NGINX_OTHER_CRED_FILE} = "$cred_dir/other.cred";
# The edge's credentials again, in a file of another name: what counts is what a file holds.
open($cred, '>', "$cred_dir/same.cred") or die "$cred_dir/same.cred: $!";
print $cred "edge:secret\n";
close($cred);
$ENV{TEST_NGINX_SAME_CRED_FILE} = "$cred_dir/same.cred";

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: a complete configuration loads and passes requests on
--- http_config
    registry_cache_path cache/a zone=a:1m max_size=16m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
    }
    location @registry {
        return 200 "passed $request_uri\n";
    }
--- request
GET /v2/
--- response_body
passed /v2/



=== TEST 2: the zone may be declared after the directive that uses it
--- http_config
    registry_cache late;
    registry_cache_pass @registry;
    registry_cache_path cache/late zone=late:64k;
--- config
    location /v2/ {
    }
    location @registry {
        return 200 "passed\n";
    }
--- request
GET /v2/
--- response_body
passed



=== TEST 3: registry_cache and registry_cache_pass are inherited from server level
--- config
    registry_cache a;
    registry_cache_pass @registry;
    location /v2/ {
    }
    location @registry {
        return 200 "inherited\n";
    }
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- request
GET /v2/
--- response_body
inherited



=== TEST 4: registry_cache off in a location leaves it to nginx
--- config
    registry_cache a;
    registry_cache_pass @registry;
    location /v2/ {
        registry_cache off;
        return 200 "static\n";
    }
    location @registry {
        return 500;
    }
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- request
GET /v2/Not-A-Name/blobs/nothing
--- response_body
static



=== TEST 5: a URI as registry_cache_pass is an internal redirect that keeps the query
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass /upstream;
    }
    location = /upstream {
        internal;
        return 200 "$uri $args $request_uri\n";
    }
--- request
GET /v2/app/tags/list?n=1
--- response_body
/upstream n=1 /v2/app/tags/list?n=1



=== TEST 6: registry_cache_path needs a zone
--- http_config
    registry_cache_path cache/a max_size=16m;
--- config
--- must_die
--- error_log
"registry_cache_path" must have "zone" parameter



=== TEST 7: zone without a size
--- http_config
    registry_cache_path cache/a zone=a;
--- config
--- must_die
--- error_log
invalid zone "a", expected zone=name:size



=== TEST 8: zone with a bad size
--- http_config
    registry_cache_path cache/a zone=a:lots;
--- config
--- must_die
--- error_log
invalid zone size "lots"



=== TEST 9: zone too small
--- http_config
    registry_cache_path cache/a zone=a:1k;
--- config
--- must_die
--- error_log
zone "a" is too small



=== TEST 10: max_size that is not a size
--- http_config
    registry_cache_path cache/a zone=a:1m max_size=big;
--- config
--- must_die
--- error_log
invalid max_size value "big"



=== TEST 11: max_size below the least
--- http_config
    registry_cache_path cache/a zone=a:1m max_size=4k;
--- config
--- must_die
--- error_log
max_size value "4k" is too small, the least is 1m



=== TEST 12: unknown parameter
--- http_config
    registry_cache_path cache/a zone=a:1m inactive=1d;
--- config
--- must_die
--- error_log
invalid parameter "inactive=1d"



=== TEST 13: one zone declared twice
--- http_config
    registry_cache_path cache/a zone=a:1m;
    registry_cache_path cache/b zone=a:1m;
--- config
--- must_die
--- error_log
duplicate zone "a"



=== TEST 14: one path used by two caches
--- http_config
    registry_cache_path cache/a zone=a:1m;
    registry_cache_path cache/a zone=b:1m;
--- config
--- must_die
--- error_log eval
qr/duplicate registry_cache_path "[^"]*cache\/a"/



=== TEST 15: registry_cache names a zone nobody declared
--- config
    location /v2/ {
        registry_cache nope;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache" zone "nope" is unknown



=== TEST 16: registry_cache without registry_cache_pass
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
    }
--- must_die
--- error_log
"registry_cache a" needs "registry_cache_pass"



=== TEST 17: registry_cache_pass that is neither a named location nor a URI
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass registry;
    }
--- must_die
--- error_log
invalid "registry_cache_pass" value "registry", expected "@name" or "/uri"



=== TEST 18: registry_cache twice in one location
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache off;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache" directive is duplicate



=== TEST 19: registry_cache_path outside the http block
--- config
    location /v2/ {
        registry_cache_path cache/a zone=a:1m;
    }
--- must_die
--- error_log
"registry_cache_path" directive is not allowed here



=== TEST 20: registry_cache_verify hashes in a thread pool the configuration declares
--- main_config
    thread_pool hash threads=2;
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_verify threads=hash;
        registry_cache_pass @registry;
    }
    location @registry {
        return 200 "passed $request_uri\n";
    }
--- request
GET /v2/
--- response_body
passed /v2/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 21: or in nginx's default pool; on and off are still flags
--- http_config
    registry_cache_path cache/a zone=a:1m;
    registry_cache_verify threads;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
    }
    location /v2/plain/ {
        registry_cache a;
        registry_cache_verify on;
        registry_cache_pass @registry;
    }
    location /v2/trusting/ {
        registry_cache a;
        registry_cache_verify off;
        registry_cache_pass @registry;
    }
    location @registry {
        return 200 "passed $request_uri\n";
    }
--- request eval
["GET /v2/", "GET /v2/plain/", "GET /v2/trusting/"]
--- response_body eval
["passed /v2/\n", "passed /v2/plain/\n", "passed /v2/trusting/\n"]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 22: a thread pool nobody declared
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_verify threads=nope;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
unknown thread pool "nope"



=== TEST 23: registry_cache_verify with a value it does not know
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_verify yes;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
invalid value "yes" in "registry_cache_verify" directive, it must be "on", "off" or "threads[=pool]"



=== TEST 24: registry_cache_verify threads= without a pool name
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_verify threads=;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
invalid value "threads=" in "registry_cache_verify" directive



=== TEST 25: registry_cache_verify twice in one location
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_verify on;
        registry_cache_verify threads;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache_verify" directive is duplicate



=== TEST 26: registry_cache_manifest_max_size with a value that is no size
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_manifest_max_size 4x;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache_manifest_max_size" directive invalid value



=== TEST 27: registry_cache_manifest_max_size 0 (keep none) is a valid size
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_manifest_max_size 0;
        registry_cache_pass @registry;
    }
    location @registry {
        return 204;
    }
--- request
GET /v2/demo/x/manifests/sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
--- error_code: 204



=== TEST 28: registry_cache_tag_ttl with a value that is no time
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_tag_ttl soon;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache_tag_ttl" directive invalid value



=== TEST 28b: registry_cache_stored_proof_ttl with a value that is no time
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_stored_proof_ttl always;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache_stored_proof_ttl" directive invalid value



=== TEST 29: registry_cache_use_stale with a condition it does not know
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_use_stale error http_404;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
invalid value "http_404" in "registry_cache_use_stale" directive



=== TEST 30: registry_cache_use_stale off beside a condition
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_use_stale off updating;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"off" cannot be combined with other values in "registry_cache_use_stale"



=== TEST 31: blobs_max_size that is not a size
--- http_config
    registry_cache_path cache/a zone=a:1m blobs_max_size=lots;
--- config
--- must_die
--- error_log
invalid blobs_max_size value "lots"



=== TEST 32: blob bodies where they would be written on the event loop
--- http_config
    registry_cache_path cache/a zone=a:1m blobs_max_size=1g;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_verify on;
        registry_cache_pass @registry;
    }
--- must_die
--- error_log
"registry_cache a" keeps blob bodies (blobs_max_size), which needs "registry_cache_verify threads" where it is used



=== TEST 33: registry_cache_token_trust loads its roots and keys
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_token_trust $TEST_NGINX_TOKEN_VECTORS/roots.pem issuer=test-token-issuer service=test-registry jwks=$TEST_NGINX_TOKEN_VECTORS/jwks.json;
    }
    location @registry {
        return 200 "passed\n";
    }
--- request
GET /v2/
--- response_body
passed



=== TEST 34: registry_cache_token_trust with a bundle that is not there
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_token_trust /nonexistent/roots.pem issuer=i service=s;
--- must_die
--- error_log
"registry_cache_token_trust" "/nonexistent/roots.pem": cannot open "/nonexistent/roots.pem"



=== TEST 35: registry_cache_token_trust with a bundle that holds no certificate (a path relative to the configuration, as ssl_certificate)
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_token_trust nginx.conf issuer=i service=s;
--- must_die
--- error_log eval
qr/"registry_cache_token_trust" "nginx.conf": no certificate in ".*conf\/nginx.conf"/



=== TEST 36: registry_cache_token_trust without an issuer or a service
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_token_trust $TEST_NGINX_TOKEN_VECTORS/roots.pem service=s;
--- must_die
--- error_log
"registry_cache_token_trust" needs issuer= and service= (as the registry's auth.token)



=== TEST 37: registry_cache_token_trust with a parameter it does not know
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_token_trust $TEST_NGINX_TOKEN_VECTORS/roots.pem issuer=i service=s realm=x;
--- must_die
--- error_log
invalid parameter "realm=x" in "registry_cache_token_trust" directive



=== TEST 38: registry_cache_token_trust with a JWK set that is not JSON
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_token_trust $TEST_NGINX_TOKEN_VECTORS/roots.pem issuer=i service=s jwks=$TEST_NGINX_TOKEN_VECTORS/tokens.txt;
--- must_die
--- error_log eval
qr/"registry_cache_token_trust" ".*roots.pem": ".*tokens.txt" is not JSON: /



=== TEST 39: registry_cache_upstream_auth on needs registry_cache_token_pass
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_upstream_auth on" needs "registry_cache_token_pass" to name the location that reaches the token service



=== TEST 40: registry_cache_upstream_credentials with a file that is not there
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_upstream_credentials /nonexistent/registry.cred;
--- must_die
--- error_log
"registry_cache_upstream_credentials" "/nonexistent/registry.cred" cannot be read



=== TEST 41: registry_cache_upstream_credentials with a file of no "username:password" line (what it holds is never logged)
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_upstream_credentials $TEST_NGINX_TOKEN_VECTORS/now.txt;
--- must_die
--- error_log eval
qr/"registry_cache_upstream_credentials" ".*now.txt" holds no "username:password" line in /



=== TEST 42: registry_cache_token_pass takes a URI
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    registry_cache_token_pass https://auth.docker.io/token;
--- must_die
--- error_log
invalid "registry_cache_token_pass" value "https://auth.docker.io/token", expected a "/uri"



=== TEST 43: mirror mode and registry_cache_token_trust exclude each other
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
        registry_cache_token_trust $TEST_NGINX_TOKEN_VECTORS/roots.pem issuer=i service=s;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_upstream_auth on" and "registry_cache_token_trust" exclude each other



=== TEST 44: mirror mode answers /v2/ itself, asking clients for nothing
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location @registry {
        return 401 "the upstream was asked\n";
    }
--- request
GET /v2/
--- response_headers
Docker-Distribution-API-Version: registry/2.0
Content-Type: application/json; charset=utf-8
--- response_body chomp
{}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 45: the edge's token replaces the client's Authorization; the token request carries the edge's credential and the scope, nothing of the client's
--- http_config
    registry_cache_path cache/a zone=a:1m;
    # The token location answers the expected token only to the expected request.
    map_hash_bucket_size 128;
    map "$args|$http_authorization|$http_cookie" $edge_token {
        "service=hub&scope=repository:demo/hello:pull|Basic ZWRnZTpzZWNyZXQ=|" right.token;
        default wrong.token;
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token?service=hub;
    }
    location = /_token {
        internal;
        return 200 '{"token":"$edge_token","expires_in":300}';
    }
    # The upstream is another server, reached by proxy_pass as in use: what it sees is what
    # the proxied request carried (the variables of a request and its subrequests are shared,
    # so echoing them here would show the token request's).
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: $http_authorization|$http_cookie\n";
    }
--- request
GET /v2/demo/hello/manifests/1.0
--- more_headers
Authorization: Basic Y2xpZW50OnNlY3JldA==
Cookie: session=1
--- response_body
upstream: Bearer right.token|session=1
--- no_error_log
[alert]
[crit]
[emerg]
edge:secret



=== TEST 46: a token service whose answer cannot be a header value gives no token: the request goes upstream without one
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 200 '{"token":"a.b\\r\\nX-Injected: 1"}';
    }
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: [$http_authorization] [$http_x_injected]\n";
    }
--- request
GET /v2/demo/hello/manifests/1.0
--- response_body
upstream: [] []
--- error_log
the token service gave no usable token (a token that cannot be sent as a header
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 47: a token service that fails gives no token: the request goes upstream without one, and the failure is counted
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 503 '{"details":"down"}';
    }
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: [$http_authorization]\n";
    }
    location = /metrics {
        registry_cache_metrics;
    }
--- request eval
["GET /v2/demo/hello/manifests/1.0", "GET /metrics"]
--- response_body_like eval
["^upstream: \\[\\]\n\$", "nginx_registry_cache_upstream_token_failures_total\\{cache=\"a\"\\} 1\n"]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 48: registry_cache_credential_ttl takes a time
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_credential_ttl a-while;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_credential_ttl" directive invalid value



=== TEST 49: registry_cache_credential_ttl and registry_cache_upstream_auth exclude each other
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
        registry_cache_credential_ttl 60s;
    }
    location = /_token {
        internal;
        return 503;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_credential_ttl" proves clients' own Basic credentials, which "registry_cache_upstream_auth on" never sends upstream



=== TEST 50: a token service that cannot be reached gives no token: the request goes upstream without one, the failure counted once (twice before: nginx's error page for the token request ran the handler again)
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        proxy_pass http://127.0.0.1:1/token;
    }
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: [$http_authorization]\n";
    }
    location = /metrics {
        registry_cache_metrics;
    }
--- request eval
["GET /v2/demo/hello/manifests/1.0", "GET /metrics"]
--- response_body_like eval
["^upstream: \\[\\]\n\$", "nginx_registry_cache_upstream_token_failures_total\\{cache=\"a\"\\} 1\n"]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 51: two servers on one zone, with other credentials, never share a token (they did before: the key was the token URI and the scope); their namespaces keep their entries apart (TEST 58)
--- http_config
    registry_cache_path cache/a zone=a:1m;
    map $http_authorization $tok {
        "Basic ZWRnZTpzZWNyZXQ=" tok-edge;
        "Basic b3RoZXI6cGFzcw==" tok-other;
        default tok-none;
    }
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_OTHER_CRED_FILE;
            registry_cache_token_pass /_token;
            registry_cache_namespace other;
        }
        location = /_token {
            internal;
            return 200 '{"token":"$tok","expires_in":300}';
        }
        location @registry {
            rewrite ^ /echo break;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 200 '{"token":"$tok","expires_in":300}';
    }
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: [$http_authorization]\n";
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- request eval
["GET /v2/demo/hello/manifests/1.0", "GET /other/v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0"]
--- response_body eval
["upstream: [Bearer tok-edge]\n", "upstream: [Bearer tok-other]\n", "upstream: [Bearer tok-edge]\n"]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 52: a token service that fails is left alone for a while: the next requests, of that scope or another, go upstream without asking it (each asked it before)
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 503 "down\n";
    }
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: [$http_authorization]\n";
    }
    location = /metrics {
        registry_cache_metrics;
    }
--- request eval
["GET /v2/demo/a/manifests/1.0", "GET /v2/demo/b/manifests/1.0", "GET /v2/demo/a/manifests/2.0", "GET /metrics"]
--- response_body_like eval
["^upstream: \\[\\]\n\$", "^upstream: \\[\\]\n\$", "^upstream: \\[\\]\n\$", "nginx_registry_cache_upstream_token_failures_total\\{cache=\"a\"\\} 1\n"]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 53: a token service that refuses one scope (a 4xx) leaves the others be: a new repository still gets its token (it went without one for 5 s before)
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        if ($arg_scope ~ deny) {
            return 403 '{"errors":[{"code":"DENIED"}]}';
        }
        return 200 '{"token":"good","expires_in":300}';
    }
    location @registry {
        rewrite ^ /echo break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /echo {
        return 200 "upstream: [$http_authorization]\n";
    }
--- request eval
["GET /v2/x/deny/manifests/1.0", "GET /v2/demo/other/manifests/1.0", "GET /v2/x/deny/manifests/2.0"]
--- response_body eval
["upstream: []\n", "upstream: [Bearer good]\n", "upstream: []\n"]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 54: registry_cache_token_trust and registry_cache_namespace exclude each other
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_namespace $arg_ns;
        registry_cache_token_trust $TEST_NGINX_TOKEN_VECTORS/roots.pem issuer=i service=s;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_token_trust" and "registry_cache_namespace" exclude each other



=== TEST 55: registry_cache_namespace takes one value
--- http_config
    registry_cache_path cache/a zone=a:1m;
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_namespace $arg_ns $host;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
invalid number of arguments in "registry_cache_namespace" directive



=== TEST 56: a mirror location and one where clients bring their own credentials share no zone: the other would serve what the edge's credentials pulled to clients who never authenticated (it did before)
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
            registry_cache_token_pass /_token;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
    }
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_upstream_auth" differs between location "/v2/" and location "/v2/" of server "localhost" that share zone "a": what the edge's own credentials pull is kept as public entries



=== TEST 57: two mirror locations with other credentials share no zone: each would serve what the other's credentials pulled (they did before)
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_OTHER_CRED_FILE;
            registry_cache_token_pass /_token;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 200 '{"token":"t","expires_in":300}';
    }
    location @registry {
        return 200;
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- must_die
--- error_log
"registry_cache_upstream_credentials" differs between location "/v2/" and location "/v2/" of server "localhost" that share zone "a": what one's credentials pull is kept as public entries



=== TEST 58: nor a mirror location with credentials and an anonymous one
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_token_pass /_token;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 200 '{"token":"t","expires_in":300}';
    }
    location @registry {
        return 200;
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- must_die
--- error_log
"registry_cache_upstream_credentials" differs between location "/v2/" and location "/v2/" of server "localhost" that share zone "a"



=== TEST 59: two mirror locations share a zone when their credentials are the same (two files that hold the same line)
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
            registry_cache_token_pass /_token;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_SAME_CRED_FILE;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 200 '{"token":"t","expires_in":300}';
    }
    location @registry {
        return 200;
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- request eval
["GET /v2/", "GET /other/v2/"]
--- response_body eval
["{}", "{}"]



=== TEST 60: two anonymous mirror locations share a zone
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_token_pass /_token;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        return 200 '{"token":"t","expires_in":300}';
    }
    location @registry {
        return 200;
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- request eval
["GET /v2/", "GET /other/v2/"]
--- response_body eval
["{}", "{}"]



=== TEST 61: two mirror locations with other credentials share a zone when each keeps its entries under a namespace of its own
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_OTHER_CRED_FILE;
            registry_cache_token_pass /_token;
            registry_cache_namespace other;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token;
        registry_cache_namespace edge;
    }
    location = /_token {
        internal;
        return 200 '{"token":"t","expires_in":300}';
    }
    location @registry {
        return 200;
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- request eval
["GET /v2/", "GET /other/v2/"]
--- response_body eval
["{}", "{}"]



=== TEST 62: a namespace a variable makes keeps nothing apart: a request may name the other's
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_OTHER_CRED_FILE;
            registry_cache_token_pass /_token;
            registry_cache_namespace $arg_ns;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    location /v2/ {
        registry_cache a;
        registry_cache_pass @registry;
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token;
        registry_cache_namespace edge;
    }
    location = /_token {
        internal;
        return 200 '{"token":"t","expires_in":300}';
    }
    location @registry {
        return 200;
    }
    location /other/ {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/;
    }
--- must_die
--- error_log
"registry_cache_upstream_credentials" differs between location "/v2/" and location "/v2/" of server "localhost" that share zone "a"



=== TEST 63: registry_cache at server level, mirror mode in /v2/: the locations the handler never acts in (the token location's proxy_pass, the named one, purge, metrics) and the server's own level (whose URIs never start with /v2/) start cleanly
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location / {
            return 200 '{"token":"t","expires_in":300}';
        }
    }
--- config
    registry_cache a;
    registry_cache_pass @registry;
    location /v2/ {
        registry_cache_upstream_auth on;
        registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
        registry_cache_token_pass /_token;
    }
    location = /_token {
        internal;
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock:/token;
    }
    location @registry {
        proxy_pass http://unix:$TEST_NGINX_SERVROOT/other.sock;
    }
    location /purge/v2/ {
        registry_cache_purge;
    }
    location = /metrics {
        registry_cache_metrics;
    }
--- request
GET /v2/
--- response_body: {}



=== TEST 64: registry_cache at server level without a location that takes /v2/: the `location /` (the runner's) where /v2/ paths go is where the handler acts, and refuses mirror mode's entries to its clients
--- http_config
    registry_cache_path cache/a zone=a:1m;
    server {
        listen unix:$TEST_NGINX_SERVROOT/other.sock;
        location /v2/ {
            registry_cache a;
            registry_cache_pass @registry;
            registry_cache_upstream_auth on;
            registry_cache_upstream_credentials $TEST_NGINX_CRED_FILE;
            registry_cache_token_pass /_token;
        }
        location = /_token {
            internal;
            return 200 '{"token":"t","expires_in":300}';
        }
        location @registry {
            return 200;
        }
    }
--- config
    registry_cache a;
    registry_cache_pass @registry;
    location @registry {
        return 200;
    }
--- must_die
--- error_log
"registry_cache_upstream_auth" differs between location "/v2/" and location "/" of server "localhost" that share zone "a"
