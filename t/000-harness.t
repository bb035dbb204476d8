# Self-test of the test harness (t/lib/Test/Nginx/Socket.pm when the CPAN
# Test::Nginx::Socket is missing) and of RegistryCache::Defaults, using
# only directives of stock nginx.  Must pass under both harnesses.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;

# Twice per block: also checks that each round only sees its own log lines.
repeat_each(2);
no_shuffle();
log_level('info');

run_tests();

__DATA__

=== TEST 1: plain response body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello



=== TEST 2: exact headers, absent header, empty expectation
--- config
    location = /t {
        add_header X-Foo bar;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
X-Foo: bar
Content-Type: text/plain
!X-Bar
X-None:
--- response_body
ok



=== TEST 3: header regexes
--- config
    location = /t {
        add_header X-Digest sha256:0123abcd;
        return 204;
    }
--- request
GET /t
--- error_code: 204
--- response_headers_like
X-Digest: sha256:[0-9a-f]+
Server: nginx/[\d.]+
--- response_body



=== TEST 4: unknown directive: nginx must not start
--- config
    location = /t {
        no_such_directive on;
    }
--- must_die
--- error_log
[emerg]
unknown directive "no_such_directive"



=== TEST 5: invalid directive value: nginx must not start
--- config
    location = /t {
        client_body_buffer_size abc;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"client_body_buffer_size" directive invalid value/



=== TEST 6: 404 is logged with log_not_found
--- config
    location /missing/ {
        log_not_found on;
    }
--- request
GET /missing/file.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
open() "
missing/file.txt" failed (2: No such file or directory)
--- no_error_log
[warn]



=== TEST 7: more_headers reach nginx
--- config
    location = /t {
        return 200 "$http_x_test|$http_accept\n";
    }
--- request
GET /t
--- more_headers
X-Test: hello world
Accept: application/vnd.oci.image.manifest.v1+json
--- response_body
hello world|application/vnd.oci.image.manifest.v1+json



=== TEST 8: HEAD response has headers but no body
--- config
    location = /t {
        return 200 "not sent\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 9
--- response_body



=== TEST 9: chunked response is de-chunked
--- config
    location = /t {
        # sub_filter drops Content-Length, so HTTP/1.1 gets chunked.
        sub_filter_types *;
        sub_filter 'a' 'b';
        sub_filter_once off;
        return 200 "aaa\n";
    }
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
bbb



=== TEST 10: request body gets a Content-Length (trimmed body)
--- config
    location = /t {
        return 200 "$request_method $http_content_length\n";
    }
--- request
POST /t
hello world
--- response_body
POST 11



=== TEST 11: HTTP/1.0 request
--- config
    location = /t {
        return 200 "$server_protocol\n";
    }
--- request
GET /t HTTP/1.0
--- response_body
HTTP/1.0



=== TEST 12: environment in config and expectations, html dir
--- config
    location = /port {
        return 200 "port=$TEST_NGINX_SERVER_PORT\n";
    }
    location /static/ {
        alias $TEST_NGINX_HTML_DIR/;
    }
--- request eval
["GET /port", "GET /static/index.html"]
--- response_body eval
["port=$ENV{TEST_NGINX_SERVER_PORT}\n", qr/It works!/]



=== TEST 13: http_config and main_config are placed
--- main_config
    worker_rlimit_nofile 1024;
--- http_config
    map $uri $mapped {
        default "from-map";
    }
--- config
    location = /t {
        return 200 "$mapped\n";
    }
--- request
GET /t
--- response_body
from-map



=== TEST 14: regex and array patterns for the error log
--- config
    location /gone/ {
        log_not_found on;
    }
--- request
GET /gone/blob
--- error_code: 404
--- error_log eval
[qr/\[error\] \d+#\d+: \*\d+ open\(\) "[^"]+" failed/, "No such file"]
--- no_error_log eval
[qr/\[warn\]/, "[alert]"]



=== TEST 15: skipped on every nginx version
--- skip_nginx: 3: < 999.0.0
--- config
    location = /t {
        return 500;
    }
--- request
GET /t
--- response_body
never checked



=== TEST 16: ignore_response still checks the log
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- ignore_response
--- no_error_log
[error]



=== TEST 17: a [crit] the block expects is exempt from the default check
--- config
    location = /t {
        client_body_in_file_only on;
        # A regular file: nginx accepts it at startup, creating a temp
        # file under it then fails with a [crit].
        client_body_temp_path $TEST_NGINX_HTML_DIR/index.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /t
some body
--- error_code: 500
--- error_log
[crit]
/html/index.html/0000000
