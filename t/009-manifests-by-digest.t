# A manifest by digest, once a GET of it verified, is answered from the store: the same
# status, headers and body as the registry's (distribution 2.8: Content-Type as stored,
# Content-Length, Docker-Content-Digest, Etag), HEAD from the same record, 304 for an
# If-None-Match naming the digest, and only to clients whose Accept would get it from the
# upstream (an OCI manifest is a 404 there to a client that does not name its type). Each
# block has a cache of its own, so each starts empty.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_MANIFEST, TEST_NGINX_HELLO_LAYOUT and
# TEST_NGINX_CACHE_DIR.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use File::Path qw(remove_tree);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Digest = $ENV{TEST_NGINX_HELLO_MANIFEST} or die "TEST_NGINX_HELLO_MANIFEST is not set";
our $Path = "/v2/demo/hello/manifests/$Digest";
our $Oci = 'application/vnd.oci.image.manifest.v1+json';
# The manifest's bytes, as the fixture pushed them.
our $Body = do {
    my $file = "$ENV{TEST_NGINX_HELLO_LAYOUT}/blobs/" . ($Digest =~ s{:}{/}r);
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    <$fh>;
};
our $Length = length $Body;
remove_tree(glob "$ENV{TEST_NGINX_CACHE_DIR}/manifests-*");

add_block_preprocessor(sub {
    my $block = shift;
    my $cache = lc($block->name =~ s/\W+/-/gr);
    my $limit = $block->manifest_max_size // '4m';
    $block->set_value(http_config => edge_http(dir => "manifests-$cache"));
    $block->set_value(config => edge_config(upstream => "127.0.0.1:$Port", metrics => 1,
                                            v2 => "registry_cache_manifest_max_size $limit;"));
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: learned from a verified GET, then answered from the store with the registry's headers and bytes
--- request eval
["GET $::Path", "GET $::Path"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
[
"X-Cache-Status: MISS\nContent-Type: $::Oci\nContent-Length: $::Length\nDocker-Content-Digest: $::Digest\nEtag: \"$::Digest\"\nDocker-Distribution-Api-Version: registry/2.0\nX-Content-Type-Options: nosniff",
"X-Cache-Status: HIT\nContent-Type: $::Oci\nContent-Length: $::Length\nDocker-Content-Digest: $::Digest\nEtag: \"$::Digest\"\nDocker-Distribution-Api-Version: registry/2.0\nX-Content-Type-Options: nosniff",
]
--- response_body eval
[$::Body, $::Body]



=== TEST 2: HEAD from the same record; a HEAD alone records nothing
--- request eval
["HEAD $::Path", "HEAD $::Path", "GET $::Path", "HEAD $::Path"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS",
 "X-Cache-Status: HIT\nContent-Type: $::Oci\nContent-Length: $::Length\nDocker-Content-Digest: $::Digest\nEtag: \"$::Digest\""]
--- response_body eval
["", "", $::Body, ""]



=== TEST 3: an OCI manifest only to a client whose Accept names its type: others get the upstream's 404
--- request eval
["GET $::Path", "GET $::Path", "GET $::Path", "GET $::Path"]
--- more_headers eval
["Accept: $::Oci", "Accept: */*", "", "Accept: text/plain, $::Oci;q=0.5"]
--- error_code eval
[200, 404, 404, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]
--- response_body_like eval
["", "MANIFEST_UNKNOWN", "MANIFEST_UNKNOWN", ""]



=== TEST 4: If-None-Match naming the digest: 304 from the store, whatever the Accept (the registry's order)
--- request eval
["GET $::Path", "GET $::Path", "GET $::Path", "GET $::Path"]
--- more_headers eval
["Accept: $::Oci", "If-None-Match: \"$::Digest\"", "If-None-Match: $::Digest", "If-None-Match: W/\"$::Digest\"\nAccept: $::Oci"]
--- error_code eval
[200, 304, 304, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT\nDocker-Distribution-Api-Version: registry/2.0\nEtag:\nContent-Type:",
 "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 5: a link per repository: what demo/hello taught is not another repository's
--- request eval
["GET $::Path", "GET " . ($::Path =~ s{demo/hello}{demo/other}r)]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci"]
--- error_code eval
[200, 404]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 6: a manifest over registry_cache_manifest_max_size passes whole and is not stored
--- manifest_max_size: 100
--- request eval
["GET $::Path", "GET $::Path"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]
--- response_body eval
[$::Body, $::Body]



=== TEST 7: learned with credentials: never served to anonymous clients
--- request eval
["GET $::Path", "GET $::Path", "GET $::Path", "GET $::Path"]
--- more_headers eval
["Accept: $::Oci\nAuthorization: Basic dXNlcjpzZWNyZXQ=", "Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 8: counted, and the store's entries shown
--- request eval
["GET $::Path", "GET $::Path", "HEAD $::Path", "GET /metrics"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", ""]
--- response_body_like eval
["", "", "",
qr/(?=.*^nginx_registry_cache_manifests_recorded_total\{cache="edge"\} 1$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="manifest",result="hit"\} 2$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="manifest",result="miss"\} 1$)(?=.*^nginx_registry_cache_entries\{cache="edge",kind="manifest_links"\} 1$)(?=.*^nginx_registry_cache_entries\{cache="edge",kind="manifest_bodies"\} 1$)(?=.*^nginx_registry_cache_recorded_total\{cache="edge"\} 0$)/ms]



=== TEST 9: a manifest pushed through the edge (by digest: no tag of the registry moves; answered 201) is learned from the bytes that passed: the first pull is a HIT
--- request eval
["PUT $::Path\n$::Body", "GET $::Path"]
--- more_headers eval
["Content-Type: $::Oci", "Accept: $::Oci"]
--- error_code eval
[201, 200]
--- response_headers eval
["", "X-Cache-Status: HIT\nContent-Type: $::Oci\nDocker-Content-Digest: $::Digest"]
--- response_body_like eval
["", qr/\A\Q$::Body\E\z/]



=== TEST 10: one larger than registry_cache_manifest_max_size passes upstream but is not kept
--- manifest_max_size: 100
--- request eval
["PUT $::Path\n$::Body", "GET $::Path"]
--- more_headers eval
["Content-Type: $::Oci", "Accept: $::Oci"]
--- error_code eval
[201, 200]
--- response_headers eval
["", "X-Cache-Status: MISS"]
