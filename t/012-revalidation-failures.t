# A tag past registry_cache_tag_ttl is revalidated with one HEAD upstream; when that HEAD
# fails in a way registry_cache_use_stale names (a 429 of a rate limit, a 503, no answer),
# the manifest the store holds answers (STALE); a failure it does not name (500 here), and
# above all a 404 (the tag is gone), send the client's own request upstream, whose answer
# the client gets; a request that declares a body is not revalidated; an answer that came by
# the operator's error_page teaches nothing. The lying upstream fails each request as its
# X-Lie header asks; the edge passes the client's headers on, to the revalidation too. Blocks
# share one cache, in order (counters start again with each block).
# Needs TEST_NGINX_CACHE_DIR (scripts/test.sh).

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::LyingUpstream;
use File::Path qw(remove_tree);

remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/revalidation");
RegistryCache::LyingUpstream::start();
our $Manifest = $RegistryCache::LyingUpstream::TRUE_MANIFEST;
our $Digest = RegistryCache::LyingUpstream::manifest_digest();
our $Oci = 'application/vnd.oci.image.manifest.v1+json';
our $Tag = 'GET /v2/lie/tag-oci/manifests/1.0';
our $Held = qr/\A\Q$Manifest\E\z/;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<'_EOC_');
    registry_cache_path $TEST_NGINX_CACHE_DIR/revalidation zone=revalidation:1m max_size=16m;
_EOC_
    # An operator's fallback: the upstream's 404 goes to a mirror (the same liar, told nothing).
    my $fallback = $block->mirror
        ? 'proxy_intercept_errors on; error_page 404 = @mirror;' : '';
    $block->set_value(config => <<_EOC_);
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
        registry_cache revalidation;
        registry_cache_pass \@registry;
        registry_cache_tag_ttl 0;
        registry_cache_use_stale error timeout http_429 http_503;
    }
    location \@registry {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_LIAR_PORT;
        $fallback
    }
    location \@mirror {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_LIAR_PORT;
        proxy_set_header X-Lie "";
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

=== TEST 1: the tag and its manifest learned from a verified GET; then revalidated
--- request eval
[$::Tag, $::Tag, "GET /metrics"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", ""]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED\nDocker-Content-Digest: $::Digest\nContent-Type: $::Oci", ""]
--- response_body_like eval
[$::Held, $::Held, qr/^nginx_registry_cache_lookups_total\{cache="revalidation",kind="tag",result="revalidated"\} 1$/m]



=== TEST 2: a rate limit (429), a 503 or no answer to the HEAD: the manifest held answers, GET and HEAD
--- request eval
[$::Tag, $::Tag, $::Tag, "HEAD /v2/lie/tag-oci/manifests/1.0"]
--- more_headers eval
["Accept: $::Oci\nX-Lie: status-429", "Accept: $::Oci\nX-Lie: status-503", "Accept: $::Oci\nX-Lie: reset",
 "Accept: $::Oci\nX-Lie: status-429"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
[("X-Cache-Status: STALE\nDocker-Content-Digest: $::Digest\nContent-Type: $::Oci") x 4]
--- response_body_like eval
[$::Held, $::Held, $::Held, qr/\A\z/]
--- error_log
did not confirm the tag



=== TEST 3: a failure not named (500) and a 404 (the tag is gone): the client's request goes upstream
--- request eval
[$::Tag, $::Tag]
--- more_headers eval
["Accept: $::Oci\nX-Lie: status-500", "Accept: $::Oci\nX-Lie: status-404"]
--- error_code eval
[500, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]
--- response_body eval
["lie\n", "lie\n"]
--- no_error_log
did not confirm the tag



=== TEST 4: stale answers are counted
--- request eval
[$::Tag, "GET /metrics"]
--- more_headers eval
["Accept: $::Oci\nX-Lie: status-429", ""]
--- response_body_like eval
[$::Held, qr/^nginx_registry_cache_stale_total\{cache="revalidation"\} 1$/m]



=== TEST 5: a request that declares a body is never revalidated by a subrequest (its Content-Length without its body would reach the upstream): it goes upstream as it is
--- request eval
"GET /v2/lie/tag-oci/manifests/1.0\nhello"
--- more_headers eval
"Accept: $::Oci"
--- response_headers
X-Cache-Status: MISS
--- response_body_like eval
$::Held



=== TEST 6: an answer that came by an operator's error_page (a mirror) teaches nothing; the upstream's own does
--- mirror: 1
--- request eval
["HEAD /v2/lie/honest/blobs/sha256:@{['e' x 64]}", "HEAD /v2/lie/honest/blobs/sha256:@{['e' x 64]}",
 "HEAD /v2/lie/honest/blobs/sha256:@{['e' x 64]}"]
--- more_headers eval
["X-Lie: status-404", "", ""]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]
