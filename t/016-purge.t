# registry_cache_purge against the real registry: what a DELETE names goes (links, tags,
# manifests, bodies no longer linked), the answer counts it, the next pull is a MISS again;
# nothing else goes; bad paths, other methods and a location without a cache are refused.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use File::Path qw(remove_tree);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Layer = $ENV{TEST_NGINX_HELLO_LAYER};
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG};
our $Manifest = $ENV{TEST_NGINX_HELLO_MANIFEST};
our $Accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/purge");

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => edge_http(dir => 'purge')) unless defined $block->http_config;
    $block->set_value(config => edge_config(upstream => "127.0.0.1:$Port", v2 => 'registry_cache_tag_ttl 1h;',
                                            metrics => 1, more => <<'_EOC_')) unless defined $block->config;
    location /purge/ {
        registry_cache edge;
        registry_cache_purge;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: learn two blobs, the tag and its manifest (the second round of each a hit)
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Config", "GET /v2/demo/hello/manifests/1.0",
 "HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Config", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
$::Accept
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 2: purge one blob: 200 and its count; it is a MISS again, the other blob still a HIT
--- request eval
["DELETE /purge/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Config"]
--- error_code eval
[200, 200]
--- response_body eval
["{\"purged\":{\"blob_links\":1,\"manifest_links\":0,\"tags\":0,\"manifest_bodies\":0,\"blob_bodies\":0}}\n", ""]
--- response_headers eval
["Content-Type: application/json; charset=utf-8", "X-Cache-Status: HIT"]



=== TEST 3: the purged blob is learned again from the upstream
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Layer"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 4: purge it again after it was learned: logged at notice with what went
--- request eval
"DELETE /purge/demo/hello/blobs/$::Layer"
--- error_code: 200
--- response_body
{"purged":{"blob_links":1,"manifest_links":0,"tags":0,"manifest_bodies":0,"blob_bodies":0}}
--- error_log eval
qr/\[notice\] .*purged "demo\/hello\/blobs\/sha256:[0-9a-f]{64}": 1 blob links, 0 manifest links, 0 tags, 0 blob bodies/



=== TEST 4b: and once more: nothing left, 404 with the count of nothing
--- request eval
"DELETE /purge/demo/hello/blobs/$::Layer"
--- error_code: 404
--- response_body
{"purged":{"blob_links":0,"manifest_links":0,"tags":0,"manifest_bodies":0,"blob_bodies":0}}



=== TEST 5: purge the tag: the tag alone goes, the manifest by digest is still a HIT, the tag a MISS
--- request eval
["DELETE /purge/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/$::Manifest", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
$::Accept
--- error_code eval
[200, 200, 200]
--- response_headers eval
["", "X-Cache-Status: HIT", "X-Cache-Status: MISS"]
--- response_body_like eval
["\"tags\":1,", ".", "."]



=== TEST 6: purge the manifest by digest: it and the tag naming it go, the body with its last link
--- request eval
["DELETE /purge/demo/hello/manifests/$::Manifest", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
$::Accept
--- error_code eval
[200, 200]
--- response_body_like eval
["^\\{\"purged\":\\{\"blob_links\":0,\"manifest_links\":1,\"tags\":1,\"manifest_bodies\":1,", "."]
--- response_headers eval
["", "X-Cache-Status: MISS"]



=== TEST 7: purge the whole repository: everything of it goes in one answer, then all MISS
--- request eval
["DELETE /purge/demo/hello", "HEAD /v2/demo/hello/blobs/$::Config", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
$::Accept
--- error_code eval
[200, 200, 200]
--- response_body_like eval
["^\\{\"purged\":\\{\"blob_links\":1,\"manifest_links\":1,\"tags\":1,", "", "."]
--- response_headers eval
["", "X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 8: invalid names and digests are the registry's 400s; nothing is purged
--- request eval
["DELETE /purge/Demo/hello", "DELETE /purge/demo/hello/blobs/sha256:abc", "DELETE /purge/", "DELETE /purge/demo/../hello", "HEAD /v2/demo/hello/blobs/$::Config"]
--- error_code eval
[400, 400, 400, 400, 200]
--- response_body_like eval
["NAME_INVALID", "DIGEST_INVALID", "NAME_INVALID", "NAME_INVALID", ""]
--- response_headers eval
["", "", "", "", "X-Cache-Status: HIT"]



=== TEST 9: other methods: 405 with Allow: DELETE
--- request eval
["GET /purge/demo/hello", "POST /purge/demo/hello"]
--- error_code eval
[405, 405]
--- response_headers eval
["Allow: DELETE", "Allow: DELETE"]



=== TEST 10: registry_cache_purge without registry_cache: [emerg] naming both
--- http_config
--- config
    location /purge/ {
        registry_cache_purge;
    }
--- must_die
--- error_log
"registry_cache_purge" needs "registry_cache" in its location



=== TEST 11: registry_cache_purge in a regular expression location: [emerg]
--- http_config
    registry_cache_path $TEST_NGINX_CACHE_DIR/purge-re zone=re:1m;
--- config
    location ~ ^/purge/ {
        registry_cache re;
        registry_cache_purge;
    }
--- must_die
--- error_log
"registry_cache_purge" belongs in a prefix location
