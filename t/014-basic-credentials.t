# registry_cache_credential_ttl: a client's own Basic credential that the upstream answered
# 200 for a repository proves that repository for the TTL, and its requests are then served
# what the upstream told credentialed clients there (HIT). A credential the upstream never
# accepted (a wrong password, another user, another repository) proves nothing: its requests
# go upstream, which answers them as it would. The upstream here is the real registry behind
# a gate of nginx's own auth_basic (users alice:secret and bob:other), so that only right
# credentials get a 200. Each block has a cache of its own, and a fresh memory (nginx starts
# anew). Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_BASE, TEST_NGINX_HELLO_MANIFEST and
# TEST_NGINX_CACHE_DIR.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use File::Path qw(remove_tree make_path);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Base = $ENV{TEST_NGINX_HELLO_BASE} or die "TEST_NGINX_HELLO_BASE is not set";
our $Manifest = "/v2/demo/hello/manifests/" . ($ENV{TEST_NGINX_HELLO_MANIFEST} or die "TEST_NGINX_HELLO_MANIFEST is not set");
our $Oci = 'Accept: application/vnd.oci.image.manifest.v1+json';
# One layer, in both repositories.
our $Hello = "/v2/demo/hello/blobs/$Base";
our $Other = "/v2/demo/other/blobs/$Base";
our $Alice = 'Authorization: Basic YWxpY2U6c2VjcmV0';       # alice:secret
our $Wrong = 'Authorization: Basic YWxpY2U6d3Jvbmc=';       # alice:wrong
our $Bob = 'Authorization: Basic Ym9iOm90aGVy';             # bob:other

remove_tree(glob "$ENV{TEST_NGINX_CACHE_DIR}/basic-*");
make_path($ENV{TEST_NGINX_CACHE_DIR});
my $users = "$ENV{TEST_NGINX_CACHE_DIR}/basic-users";
open(my $fh, '>', $users) or die "$users: $!";
print $fh "alice:{PLAIN}secret\nbob:{PLAIN}other\n";
close($fh);

add_block_preprocessor(sub {
    my $block = shift;
    my $cache = lc($block->name =~ s/\W+/-/gr);
    my $ttl = $block->ttl // '60s';
    $block->set_value(http_config => <<_EOC_);
    registry_cache_path \$TEST_NGINX_CACHE_DIR/basic-$cache zone=edge:1m max_size=16m;
    server {
        listen unix:\$TEST_NGINX_SERVROOT/gate.sock;
        location /v2/ {
            auth_basic "registry";
            auth_basic_user_file $users;
            proxy_pass http://127.0.0.1:$Port;
        }
    }
_EOC_
    $block->set_value(config => <<_EOC_);
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass \@registry;
        registry_cache_credential_ttl $ttl;
    }
    location \@registry {
        proxy_pass http://unix:\$TEST_NGINX_SERVROOT/gate.sock;
    }
_EOC_
    $block->set_value(no_error_log => "[alert]\n[crit]\n[emerg]") unless defined $block->no_error_log;
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: a credential the upstream accepted gets hits; no credential gets the upstream's 401
--- request eval
["HEAD $::Hello", "HEAD $::Hello", "HEAD $::Hello"]
--- more_headers eval
[$::Alice, $::Alice, ""]
--- error_code eval
[200, 200, 401]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS"]



=== TEST 2: a wrong password never gets a hit, before or after the right one was accepted
--- request eval
["HEAD $::Hello", "HEAD $::Hello", "HEAD $::Hello", "HEAD $::Hello"]
--- more_headers eval
[$::Wrong, $::Wrong, $::Alice, $::Wrong]
--- error_code eval
[401, 401, 200, 401]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 3: another user's credential is asked upstream first, then gets hits of its own
--- request eval
["HEAD $::Hello", "HEAD $::Hello", "HEAD $::Hello"]
--- more_headers eval
[$::Alice, $::Bob, $::Bob]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 4: a credential proves only the repository the upstream accepted it for
--- request eval
["HEAD $::Other", "HEAD $::Hello", "HEAD $::Other", "HEAD $::Other"]
--- more_headers eval
[$::Bob, $::Alice, $::Alice, $::Alice]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 5: past the TTL the credential is asked upstream again, then proves anew
The harness waits 1.6 s after each request: they come at 0, 1.6, 3.2 and 4.8 s, and the
credential accepted at 0 proves until 3 s (whole seconds, as nginx keeps time).
--- ttl: 3s
--- wait: 1.6
--- request eval
["HEAD $::Hello", "HEAD $::Hello", "HEAD $::Hello", "HEAD $::Hello"]
--- more_headers eval
[$::Alice, $::Alice, $::Alice, $::Alice]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 6: the scheme is read in any case, as the registry reads it
--- request eval
["HEAD $::Hello", "HEAD $::Hello"]
--- more_headers eval
[$::Alice, $::Alice =~ s/Basic/basic/r]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 7: a 200 to a GET proves the repository as well
(Blob bodies are not kept here: the GET goes upstream as it is.)
--- request eval
["GET $::Hello", "HEAD $::Hello"]
--- more_headers eval
[$::Alice, $::Alice]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Cache-Status: BYPASS", "X-Cache-Status: HIT"]



=== TEST 8: manifests follow the same rules
--- request eval
["GET $::Manifest", "GET $::Manifest", "GET $::Manifest", "GET $::Manifest"]
--- more_headers eval
["$::Alice\n$::Oci", "$::Alice\n$::Oci", "$::Wrong\n$::Oci", "$::Oci"]
--- error_code eval
[200, 200, 401, 401]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: MISS"]
