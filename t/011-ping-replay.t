# A client's pull begins with a ping (GET /v2/). The edge keeps the upstream's last answer to
# an anonymous ping (200, or 401 with its challenge) and, when the upstream fails in a way
# registry_cache_use_stale names, replays it (STALE): the status, WWW-Authenticate,
# Docker-Distribution-Api-Version and distribution's body. What a client with credentials
# was told, an answer that cannot be replayed as it was, and failures the operator did not
# name change nothing. The lying upstream answers each ping as its X-Lie header asks.
# Blocks share one cache, in order. Needs TEST_NGINX_CACHE_DIR (scripts/test.sh).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::LyingUpstream;
use File::Path qw(remove_tree);

remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/ping");
RegistryCache::LyingUpstream::start();
our $Challenge = $RegistryCache::LyingUpstream::PING_CHALLENGE;
our $Unauthorized = qr/\A\{"errors":\[\{"code":"UNAUTHORIZED","message":"authentication required","detail":null\}\]\}\n\z/;

add_block_preprocessor(sub {
    my $block = shift;
    my $stale = $block->use_stale // 'error timeout http_429 http_503';
    # An operator's own page for the upstream's 503, and headers it hides from clients.
    my $extra = $block->operator_config // '';
    $block->set_value(http_config => <<'_EOC_');
    registry_cache_path $TEST_NGINX_CACHE_DIR/ping zone=ping:1m max_size=16m;
_EOC_
    $block->set_value(config => <<_EOC_);
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
        registry_cache ping;
        registry_cache_pass \@registry;
        registry_cache_use_stale $stale;
    }
    location \@registry {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_LIAR_PORT;
        $extra
    }
    location = /maintenance {
        return 200 "down for maintenance\n";
    }
    location = /metrics {
        registry_cache_metrics;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: nothing held yet: a failed ping is the upstream's failure
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: status-503", "X-Lie: reset"]
--- error_code eval
[503, 502]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: BYPASS"]
--- response_body_like eval
[qr/\Alie\n\z/, qr/"code":"UNAVAILABLE"/]
--- no_error_log
replayed its last answer



=== TEST 2: an anonymous 401 is learned as it passes
--- request eval
"GET /v2/"
--- more_headers
X-Lie: ping-401
--- error_code: 401
--- response_headers eval
"X-Cache-Status: BYPASS\nWWW-Authenticate: $::Challenge"



=== TEST 3: then replayed when the upstream fails as named: 503, 429, no answer; GET and HEAD
--- request eval
["GET /v2/", "GET /v2/", "GET /v2/", "HEAD /v2/"]
--- more_headers eval
["X-Lie: status-503", "X-Lie: status-429", "X-Lie: reset", "X-Lie: status-503"]
--- error_code eval
[401, 401, 401, 401]
--- response_headers eval
[("X-Cache-Status: STALE\nWWW-Authenticate: $::Challenge\nDocker-Distribution-Api-Version: registry/2.0\nContent-Type: application/json; charset=utf-8\nX-Content-Type-Options: nosniff") x 4]
--- response_body_like eval
[$::Unauthorized, $::Unauthorized, $::Unauthorized, qr/\A\z/]
--- error_log
: replayed its last answer (401)



=== TEST 4: not for a failure the operator did not name, nor for a 404 (the registry said it is not there)
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: status-500", "X-Lie: status-404"]
--- error_code eval
[500, 404]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: BYPASS"]
--- response_body_like eval
[qr/\Alie\n\z/, qr/\Alie\n\z/]



=== TEST 5: what a client with credentials was told replaces nothing
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: ping-200\nAuthorization: Bearer abc", "X-Lie: status-503"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: STALE\nWWW-Authenticate: $::Challenge"]



=== TEST 6: two challenges cannot be replayed as they were: they replace nothing
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: ping-two-challenges", "X-Lie: status-503"]
--- error_code eval
[401, 401]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: STALE\nWWW-Authenticate: $::Challenge"]



=== TEST 7: an anonymous 200 replaces the 401, and is replayed with distribution's body
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: ping-200", "X-Lie: status-503"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: STALE\nWWW-Authenticate:\nContent-Length: 2\nDocker-Distribution-Api-Version: registry/2.0"]
--- response_body eval
["{}", "{}"]



=== TEST 8: registry_cache_use_stale off: the upstream's failure goes to the client
--- use_stale: off
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: status-503", "X-Lie: reset"]
--- error_code eval
[503, 502]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: BYPASS"]
--- no_error_log
replayed its last answer



=== TEST 9: replays are counted as stale answers
--- request eval
["GET /v2/", "GET /metrics"]
--- more_headers eval
["X-Lie: status-503", ""]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\A\{\}\z/, qr/^nginx_registry_cache_stale_total\{cache="ping"\} 1$/m]



=== TEST 10: an exchange that breaks after its status line is no answer: the ping is replayed
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: ping-200", "X-Lie: ping-bad-header"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: STALE"]
--- response_body eval
["{}", "{}"]



=== TEST 11: an operator's own page for the upstream's failure is not replaced
--- operator_config
proxy_intercept_errors on; error_page 503 =200 /maintenance;
--- request eval
"GET /v2/"
--- more_headers
X-Lie: status-503
--- error_code: 200
--- response_body
down for maintenance
--- no_error_log
replayed its last answer



=== TEST 12: what the operator hides from clients is not replayed to them either
--- operator_config
proxy_hide_header WWW-Authenticate;
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["X-Lie: ping-401", "X-Lie: status-503"]
--- error_code eval
[401, 401]
--- response_headers eval
["WWW-Authenticate:", "X-Cache-Status: STALE\nWWW-Authenticate:"]



=== TEST 13: a challenge learned under one Host is never replayed to a client of another (an upstream may build its realm from Host)
--- request eval
["GET /v2/", "GET /v2/", "GET /v2/"]
--- more_headers eval
["Host: evil.example\nX-Lie: ping-401", "Host: edge.example\nX-Lie: status-503", "Host: evil.example\nX-Lie: status-503"]
--- error_code eval
[401, 503, 401]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: BYPASS\nWWW-Authenticate:", "X-Cache-Status: STALE\nWWW-Authenticate: $::Challenge"]



=== TEST 14: nor what a client that said where it reached the upstream was told
--- request eval
["GET /v2/", "GET /v2/"]
--- more_headers eval
["Host: fwd.example\nX-Forwarded-Host: evil.example\nX-Lie: ping-401", "Host: fwd.example\nX-Lie: status-503"]
--- error_code eval
[401, 503]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: BYPASS"]
