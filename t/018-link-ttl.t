# registry_cache_link_ttl against the real registry: a link is answered from the cache for the
# TTL, then confirmed upstream again before it answers: one HEAD, with the client's headers
# but for its conditions and ranges, for a manifest or a blob body the cache holds (the same
# digest: REVALIDATED, answered from the cache, renewed; a 404: the client's request goes
# upstream and the link is forgotten; an upstream down, with registry_cache_use_stale: STALE),
# for a manifest, a blob's HEAD or a blob body the cache holds. A blob or manifest deleted
# behind the edge's back stops being served once its link is that old.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use RegistryCache::Registry;
use File::Path qw(remove_tree);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG};
our $Layer = $ENV{TEST_NGINX_HELLO_LAYER};
our $Manifest = $ENV{TEST_NGINX_HELLO_MANIFEST};
our $Accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/link-ttl", "$ENV{TEST_NGINX_CACHE_DIR}/link-ttl-mirror");

# A blob and a manifest of their own in e2e/link-ttl, pushed straight to the registry (new
# ones each run), to be deleted behind the edge's back.
our $Doomed = RegistryCache::Registry::push_blob($Port, 'e2e/link-ttl', "a blob deleted behind the edge's back " . time . " $$");
our $DoomedManifest = RegistryCache::Registry::push_manifest($Port, 'e2e/link-ttl', "deleted behind the edge's back " . time . " $$");
our $KeptManifest = RegistryCache::Registry::push_manifest($Port, 'e2e/link-ttl', "kept " . time . " $$");
our $Down = "X-Upstream-Down: 1";

# The cache keeps blob bodies; a request with X-Upstream-Down finds the upstream refusing.
add_block_preprocessor(sub {
    my $block = shift;
    # A block with --- mirror: the same in mirror mode (the edge's own token upstream), in a
    # cache of its own.
    my $mirror = $block->mirror;
    $block->set_value(main_config => "thread_pool verify threads=2;") unless defined $block->main_config;
    $block->set_value(http_config => edge_http(dir => $mirror ? 'link-ttl-mirror' : 'link-ttl',
                                               params => 'blobs_max_size=64m', http => <<_EOC_))
    map \$http_x_upstream_down \$registry_port {
        ""      $Port;
        default 1;
    }
_EOC_
        unless defined $block->http_config;
    # A block with --- stale_off: registry_cache_use_stale off (its default).
    my $stale = $block->stale_off ? 'off' : 'error';
    my $v2 = "registry_cache_link_ttl 3s;\nregistry_cache_tag_ttl 1h;\nregistry_cache_use_stale $stale;\n"
           . "registry_cache_verify threads=verify;\n";
    $v2 .= "registry_cache_upstream_auth on;\nregistry_cache_token_pass /_token;\n" if $mirror;
    $block->set_value(config => edge_config(upstream => '127.0.0.1:$registry_port', metrics => 1, v2 => $v2, more => <<_EOC_))
    location /direct/ {
        proxy_pass http://127.0.0.1:$Port/;
    }
    location = /_token {
        internal;
        default_type application/json;
        return 200 '{"token":"edge.token","expires_in":300}';
    }
_EOC_
        unless defined $block->config;
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
 "GET /v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0",
 "GET /v2/e2e/link-ttl/manifests/$::DoomedManifest", "DELETE /direct/v2/e2e/link-ttl/manifests/$::DoomedManifest",
 "GET /v2/e2e/link-ttl/manifests/$::DoomedManifest",
 "GET /v2/e2e/link-ttl/manifests/$::KeptManifest", "GET /v2/e2e/link-ttl/manifests/$::KeptManifest",
 "GET /v2/demo/hello/blobs/$::Layer", "GET /v2/demo/hello/blobs/$::Layer"]
--- more_headers eval
["", "", "", "", "", $::Accept, $::Accept, $::Accept, "", $::Accept, $::Accept, $::Accept, "", ""]
--- error_code eval
[200, 200, 200, 202, 200, 200, 200, 200, 202, 200, 200, 200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "", "X-Cache-Status: HIT",
 "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "", "X-Cache-Status: HIT",
 "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 1b: (the TTL runs out: the harness waits after this block's one request)
--- request
GET /v2/
--- error_code: 200
--- wait: 3.1



=== TEST 2: past it, one HEAD upstream decides: the deleted blob is its 404 (its link forgotten, the client's HEAD then the upstream's) and the other REVALIDATED, then a HIT; the tag whose manifest link is that old (within its own TTL), a manifest by digest asked for with If-None-Match and a blob body asked for with Range are REVALIDATED (the HEAD asks neither) and renewed; the deleted manifest is the upstream's 404, its link forgotten
--- request eval
["HEAD /v2/e2e/link-ttl/blobs/$::Doomed", "HEAD /v2/demo/hello/blobs/$::Config", "HEAD /v2/demo/hello/blobs/$::Config",
 "GET /v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0",
 "GET /v2/e2e/link-ttl/manifests/$::KeptManifest", "GET /v2/e2e/link-ttl/manifests/$::KeptManifest",
 "GET /v2/e2e/link-ttl/manifests/$::DoomedManifest",
 "GET /v2/demo/hello/blobs/$::Layer", "GET /v2/demo/hello/blobs/$::Layer",
 "GET /metrics"]
--- more_headers eval
["", "", "", $::Accept, $::Accept, "$::Accept\nIf-None-Match: \"$::KeptManifest\"", $::Accept, $::Accept,
 "Range: bytes=0-9", "", ""]
--- error_code eval
[404, 200, 200, 200, 200, 304, 200, 404, 206, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED", "X-Cache-Status: HIT",
 "X-Cache-Status: REVALIDATED", "X-Cache-Status: HIT",
 "X-Cache-Status: REVALIDATED", "X-Cache-Status: HIT\nDocker-Content-Digest: $::KeptManifest",
 "X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED\nContent-Length: 10", "X-Cache-Status: HIT", ""]
--- response_body_like eval
["", "", "", "", "", "", "", "MANIFEST_UNKNOWN", "", "",
 qr/cleared_total\{cache="edge"\} 2\n(?s:.*)kind="blob",result="revalidated"\} 1\n(?s:.*)kind="blob_body",result="revalidated"\} 1\n(?s:.*)kind="manifest",result="revalidated"\} 1\n(?s:.*)kind="tag",result="revalidated"\} 1\n/]



=== TEST 2b: (the TTL runs out again)
--- request
GET /v2/
--- error_code: 200
--- wait: 3.1



=== TEST 3: past it with the upstream down, registry_cache_use_stale error answers what is held (STALE, a warning): a manifest by digest
--- request eval
"GET /v2/e2e/link-ttl/manifests/$::KeptManifest"
--- more_headers eval
"$::Accept\n$::Down"
--- error_code: 200
--- response_headers eval
"X-Cache-Status: STALE\nDocker-Content-Digest: $::KeptManifest"
--- error_log
did not confirm the link (0): answered stale



=== TEST 3b: a blob body
--- request eval
"GET /v2/demo/hello/blobs/$::Layer"
--- more_headers eval
$::Down
--- error_code: 200
--- response_headers eval
"X-Cache-Status: STALE\nDocker-Content-Digest: $::Layer"
--- error_log
did not confirm the link (0): answered stale



=== TEST 3c: a tag whose manifest link is old
--- request
GET /v2/demo/hello/manifests/1.0
--- more_headers eval
"$::Accept\n$::Down"
--- error_code: 200
--- response_headers
X-Cache-Status: STALE
--- error_log
did not confirm the tag (0): answered stale



=== TEST 3d: a blob's HEAD (it failed with the upstream's 502 before: a HEAD past the TTL went upstream as a miss)
--- request eval
"HEAD /v2/demo/hello/blobs/$::Config"
--- more_headers eval
$::Down
--- error_code: 200
--- response_headers eval
"X-Cache-Status: STALE\nDocker-Content-Digest: $::Config"
--- error_log
did not confirm the link (0): answered stale



=== TEST 3e: a client naming the digest in If-None-Match but not the manifest's type in Accept is not revalidated (the HEAD would carry that Accept, which the registry answers 404): its request goes upstream, and nothing is forgotten; one naming the type is revalidated
--- request eval
["GET /v2/e2e/link-ttl/manifests/$::KeptManifest", "GET /v2/e2e/link-ttl/manifests/$::KeptManifest", "GET /metrics"]
--- more_headers eval
["If-None-Match: \"$::KeptManifest\"\nAccept: application/vnd.docker.distribution.manifest.v2+json", $::Accept, ""]
--- error_code eval
[304, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED", ""]
--- response_body_like eval
["", "", qr/cleared_total\{cache="edge"\} 0\n/]



=== TEST 3f: with registry_cache_use_stale off a blob's HEAD past the TTL is not revalidated, which could only end as the same HEAD again: it goes upstream once, as a miss (it went twice before, the revalidation's HEAD in a subrequest, then the client's own, each waiting on the upstream)
--- stale_off: 1
--- request eval
"HEAD /v2/demo/hello/blobs/$::Config"
--- more_headers eval
$::Down
--- error_code: 502
--- response_headers
X-Cache-Status: MISS
--- error_log
connect() failed
--- no_error_log
subrequest:
answered stale



=== TEST 5: mirror mode: learn a manifest by digest, a blob body and a tag
--- mirror: 1
--- request eval
["GET /v2/e2e/link-ttl/manifests/$::KeptManifest", "GET /v2/demo/hello/blobs/$::Layer", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
[$::Accept, "", $::Accept]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS"]
--- wait: 3.1



=== TEST 5b: past the TTL, what the edge's token revalidated is renewed for every client (the HEAD was the edge's, not a client's credential): REVALIDATED once, then HIT
(a HEAD of a blob in each repository first, which goes upstream whole and fetches the edge's token for its scope: a revalidation uses only a token at hand)
--- mirror: 1
--- request eval
["HEAD /v2/e2e/link-ttl/blobs/$::Doomed", "HEAD /v2/demo/hello/blobs/$::Config",
 "GET /v2/e2e/link-ttl/manifests/$::KeptManifest", "GET /v2/e2e/link-ttl/manifests/$::KeptManifest",
 "GET /v2/demo/hello/blobs/$::Layer", "GET /v2/demo/hello/blobs/$::Layer",
 "GET /v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
["", "", $::Accept, $::Accept, "", "", $::Accept, $::Accept]
--- error_code eval
[404, 200, 200, 200, 200, 200, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS",
 "X-Cache-Status: REVALIDATED", "X-Cache-Status: HIT", "X-Cache-Status: REVALIDATED", "X-Cache-Status: HIT",
 "X-Cache-Status: REVALIDATED", "X-Cache-Status: HIT"]



=== TEST 4: registry_cache_link_ttl takes a time
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
