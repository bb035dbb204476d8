# A tag is learned from the upstream's answers (a HEAD names its digest; a verified GET also
# gives the manifest's bytes) and answered from the store while it is younger than
# registry_cache_tag_ttl, with the headers and bytes of the manifest it names, only to a
# client that names that manifest's type (the upstream rewrites or refuses others), never
# from what a request with credentials taught; a push of the tag through the edge forgets it.
# Each block has a cache of its own, so each starts empty.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_MANIFEST, TEST_NGINX_HELLO_LAYOUT and
# TEST_NGINX_CACHE_DIR.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use File::Path qw(remove_tree);
use Digest::SHA ();

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Digest = $ENV{TEST_NGINX_HELLO_MANIFEST} or die "TEST_NGINX_HELLO_MANIFEST is not set";
our $Tag = "/v2/demo/hello/manifests/1.0";
our $ByDigest = "/v2/demo/hello/manifests/$Digest";
our $Oci = 'application/vnd.oci.image.manifest.v1+json';
our $Body = do {
    my $file = "$ENV{TEST_NGINX_HELLO_LAYOUT}/blobs/" . ($Digest =~ s{:}{/}r);
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    <$fh>;
};
our $Length = length $Body;
# Another manifest of the same image (an annotation more): the tag moved upstream.
our $Moved = $Body =~ s/\A\{/{"annotations":{"moved":"yes"},/r;
$Moved ne $Body or die "the manifest did not change";
our $MovedDigest = 'sha256:' . Digest::SHA::sha256_hex($Moved);
# And one deleted through the edge.
our $Doomed = $Body =~ s/\A\{/{"annotations":{"doomed":"yes"},/r;
our $DoomedDigest = 'sha256:' . Digest::SHA::sha256_hex($Doomed);
# A Docker manifest list whose one platform, linux/amd64, is that manifest: the upstream
# answers its tag with the manifest to a client that does not name the list's type.
our $ListType = 'application/vnd.docker.distribution.manifest.list.v2+json';
our $List = qq({"schemaVersion":2,"mediaType":"$ListType","manifests":[{"mediaType":"$Oci","size":$Length,"digest":"$Digest","platform":{"architecture":"amd64","os":"linux"}}]});
our $ListDigest = 'sha256:' . Digest::SHA::sha256_hex($List);
our $Headers = "Content-Type: $Oci\nContent-Length: $Length\nDocker-Content-Digest: $Digest\nEtag: \"$Digest\"\nDocker-Distribution-Api-Version: registry/2.0";
remove_tree(glob "$ENV{TEST_NGINX_CACHE_DIR}/tags-*");

add_block_preprocessor(sub {
    my $block = shift;
    my $cache = $block->cache_name // lc($block->name =~ s/\W+/-/gr);
    my $ttl = $block->tag_ttl // '1h';
    my $stale = $block->use_stale // 'off';
    my $upstream = $block->dead_upstream ? '127.0.0.1:1' : "127.0.0.1:$Port";
    # What the access log says of each answer, at /log.
    $block->set_value(http_config => edge_http(dir => "tags-$cache", http => <<'_EOH_'));
    log_format sent escape=none '$request_method $registry_cache_status $sent_http_docker_content_digest $sent_http_etag';
_EOH_
    $block->set_value(config => edge_config(upstream => $upstream, metrics => 1,
                                            v2 => "registry_cache_tag_ttl $ttl;\nregistry_cache_use_stale $stale;\naccess_log logs/sent-$cache.log sent;",
                                            more => <<_EOC_));
    # To move tags upstream behind the edge's back.
    location /direct/ {
        proxy_pass http://127.0.0.1:$Port/;
    }
    location = /log {
        alias logs/sent-$cache.log;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: within the TTL a tag is answered from the store, with the registry's headers and bytes
--- request eval
["GET $::Tag", "GET $::Tag", "HEAD $::Tag"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
["X-Cache-Status: MISS\n$::Headers", "X-Cache-Status: HIT\n$::Headers", "X-Cache-Status: HIT\n$::Headers"]
--- response_body eval
[$::Body, $::Body, ""]



=== TEST 2: with the default TTL of 0 every GET of a tag is revalidated upstream, and what the first verified answers by digest
--- tag_ttl: 0
--- request eval
["GET $::Tag", "GET $::Tag", "GET $::ByDigest", "GET /metrics"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", ""]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED\n$::Headers", "X-Cache-Status: HIT\n$::Headers", ""]
--- response_body_like eval
["", "", "",
qr/(?=.*^nginx_registry_cache_entries\{cache="edge",kind="tags"\} 1$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="miss"\} 1$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="revalidated"\} 1$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="hit"\} 0$)(?=.*^nginx_registry_cache_manifests_recorded_total\{cache="edge"\} 1$)/ms]



=== TEST 3: a HEAD's answer names the tag's digest, type and size: it answers the next HEAD, but a GET needs the manifest's bytes
--- request eval
["HEAD $::Tag", "HEAD $::Tag", "GET $::Tag", "HEAD $::Tag", "GET $::Tag", "GET /metrics"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", ""]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT\n$::Headers", "X-Cache-Status: MISS\n$::Headers",
 "X-Cache-Status: HIT\n$::Headers", "X-Cache-Status: HIT\n$::Headers", ""]
--- response_body_like eval
["", "", qr/\A\Q$::Body\E\z/, "", qr/\A\Q$::Body\E\z/,
qr/(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="hit"\} 3$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="miss"\} 2$)/ms]



=== TEST 4: only to a client that names the manifest's type: the upstream refuses (404) or rewrites for others
--- request eval
["GET $::Tag", "GET $::Tag", "GET $::Tag", "GET $::Tag"]
--- more_headers eval
["Accept: $::Oci", "Accept: application/vnd.docker.distribution.manifest.v2+json", "Accept: */*",
 "Accept: application/vnd.docker.distribution.manifest.v2+json, $::Oci"]
--- error_code eval
[200, 404, 404, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 5: If-None-Match naming what the tag names: 304 from the store
--- request eval
["GET $::Tag", "GET $::Tag"]
--- more_headers eval
["Accept: $::Oci", "If-None-Match: \"$::Digest\""]
--- error_code eval
[200, 304]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 6: learned with credentials: never served to anonymous clients
--- request eval
["GET $::Tag", "GET $::Tag", "GET $::Tag"]
--- more_headers eval
["Accept: $::Oci\nAuthorization: Basic dXNlcjpzZWNyZXQ=", "Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 7: a push of the tag through the edge forgets it
--- request eval
["GET $::Tag", "GET $::Tag", "PUT $::Tag\n$::Body", "GET $::Tag", "GET $::Tag"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Content-Type: $::Oci", "Accept: $::Oci", "Accept: $::Oci"]
--- error_code eval
[200, 200, 201, 200, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: BYPASS", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 8: past the TTL a GET is revalidated with one HEAD: the same digest answers from the store, a moved tag goes upstream
The tag is moved upstream behind the edge, and deleted at the end (with the manifest it then
names), so that the registry's tags are as the other tests expect.
--- tag_ttl: 0
--- request eval
["PUT /direct/v2/demo/hello/manifests/moving\n$::Body", "GET /v2/demo/hello/manifests/moving",
 "GET /v2/demo/hello/manifests/moving",
 "PUT /direct/v2/demo/hello/manifests/moving\n$::Moved", "GET /v2/demo/hello/manifests/moving",
 "GET /v2/demo/hello/manifests/moving", "GET /metrics",
 "DELETE /direct/v2/demo/hello/manifests/$::MovedDigest", "GET /v2/demo/hello/tags/list"]
--- more_headers eval
["Content-Type: $::Oci", "Accept: $::Oci", "Accept: $::Oci", "Content-Type: $::Oci", "Accept: $::Oci",
 "Accept: $::Oci", "", "", ""]
--- error_code eval
[201, 200, 200, 201, 200, 200, 200, 202, 200]
--- response_headers eval
["", "X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED\n$::Headers", "", "X-Cache-Status: MISS",
 "X-Cache-Status: REVALIDATED", "", "", ""]
--- response_body_like eval
["", qr/\A\Q$::Body\E\z/, qr/\A\Q$::Body\E\z/, "", qr/\A\Q$::Moved\E\z/, qr/\A\Q$::Moved\E\z/,
qr/(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="revalidated"\} 2$)(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="tag",result="miss"\} 2$)/ms,
"", qr/\A\{"name":"demo\/hello","tags":\["1\.0"\]\}\s*\z/]



=== TEST 9: (learns a tag, for the next blocks, which share its cache)
--- cache_name: stale
--- tag_ttl: 0
--- request eval
"GET $::Tag"
--- more_headers eval
"Accept: $::Oci"
--- response_headers
X-Cache-Status: MISS



=== TEST 10: the upstream gone, registry_cache_use_stale error: the tag answers stale, GET and HEAD
--- cache_name: stale
--- tag_ttl: 0
--- use_stale: error timeout http_503
--- dead_upstream: 1
--- request eval
["GET $::Tag", "HEAD $::Tag"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci"]
--- response_headers eval
["X-Cache-Status: STALE\n$::Headers", "X-Cache-Status: STALE\n$::Headers"]
--- response_body_like eval
[qr/\A\Q$::Body\E\z/, ""]
--- error_log
did not confirm the tag



=== TEST 10b: and counted
--- cache_name: stale
--- tag_ttl: 0
--- use_stale: error
--- dead_upstream: 1
--- request eval
["GET $::Tag", "GET /metrics"]
--- more_headers eval
["Accept: $::Oci", ""]
--- response_body_like eval
[qr/\A\Q$::Body\E\z/, qr/^nginx_registry_cache_stale_total\{cache="edge"\} 1$/m]



=== TEST 11: the upstream gone, registry_cache_use_stale off: the request goes upstream and fails
--- cache_name: stale
--- tag_ttl: 0
--- dead_upstream: 1
--- request eval
"GET $::Tag"
--- more_headers eval
"Accept: $::Oci"
--- error_code: 502
--- response_headers
X-Cache-Status: MISS
--- response_body_like: "code":"UNAVAILABLE"



=== TEST 12: a tag moved upstream is answered as held while the TTL lasts...
The tag is moved behind the edge's back, within a TTL of three seconds (the edge counts whole
seconds: these requests have two seconds at least, a loaded machine included).
--- cache_name: expiring
--- tag_ttl: 3s
--- request eval
["PUT /direct/v2/demo/hello/manifests/expiring\n$::Body", "GET /v2/demo/hello/manifests/expiring",
 "PUT /direct/v2/demo/hello/manifests/expiring\n$::Moved", "GET /v2/demo/hello/manifests/expiring"]
--- more_headers eval
["Content-Type: $::Oci", "Accept: $::Oci", "Content-Type: $::Oci", "Accept: $::Oci"]
--- error_code eval
[201, 200, 201, 200]
--- response_headers eval
["", "X-Cache-Status: MISS", "", "X-Cache-Status: HIT\nDocker-Content-Digest: $::Digest"]
--- response_body_like eval
["", qr/\A\Q$::Body\E\z/, "", qr/\A\Q$::Body\E\z/]



=== TEST 12b: (the TTL runs out: the harness waits after this block's one request)
--- cache_name: expiring
--- tag_ttl: 3s
--- request
GET /v2/
--- error_code: 200
--- wait: 3.1



=== TEST 13: ...and seen at the first request after it
The moved manifest is deleted at the end, with its tag, so that the registry's tags are as
the other tests expect.
--- cache_name: expiring
--- tag_ttl: 3s
--- request eval
["GET /v2/demo/hello/manifests/expiring", "GET /v2/demo/hello/manifests/expiring",
 "DELETE /direct/v2/demo/hello/manifests/$::MovedDigest", "GET /v2/demo/hello/tags/list"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "", ""]
--- error_code eval
[200, 200, 202, 200]
--- response_headers eval
["X-Cache-Status: MISS\nDocker-Content-Digest: $::MovedDigest", "X-Cache-Status: HIT\nDocker-Content-Digest: $::MovedDigest", "", ""]
--- response_body_like eval
[qr/\A\Q$::Moved\E\z/, qr/\A\Q$::Moved\E\z/, "", qr/\A\{"name":"demo\/hello","tags":\["1\.0"\]\}\s*\z/]



=== TEST 14: a manifest deleted through the edge takes every tag naming it along
--- request eval
["PUT /direct/v2/demo/hello/manifests/doomed\n$::Doomed", "GET /v2/demo/hello/manifests/doomed",
 "GET /v2/demo/hello/manifests/doomed", "DELETE /v2/demo/hello/manifests/$::DoomedDigest",
 "GET /v2/demo/hello/manifests/doomed", "GET /v2/demo/hello/manifests/$::DoomedDigest",
 "GET /v2/demo/hello/tags/list"]
--- more_headers eval
["Content-Type: $::Oci", "Accept: $::Oci", "Accept: $::Oci", "", "Accept: $::Oci", "Accept: $::Oci", ""]
--- error_code eval
[201, 200, 200, 202, 404, 404, 200]
--- response_headers eval
["", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "", "X-Cache-Status: MISS", "X-Cache-Status: MISS", ""]
--- response_body_like eval
["", qr/\A\Q$::Doomed\E\z/, qr/\A\Q$::Doomed\E\z/, "", qr/MANIFEST_UNKNOWN/, qr/MANIFEST_UNKNOWN/,
 qr/\A\{"name":"demo\/hello","tags":\["1\.0"\]\}\s*\z/]



=== TEST 15: what a client that does not name the Docker list type learned of a list's tag never answers one that does
The upstream answers the tag of a Docker manifest list with its linux/amd64 manifest to a
client that does not name the list's type (distribution, Docker Hub). That answer answers such
clients again, never a client that names the list (which the upstream sends the list: an
arm64 node would otherwise be given the amd64 image). The list is deleted at the end, with
its tag.
--- request eval
["PUT /direct/v2/demo/hello/manifests/multi\n$::List", "GET /v2/demo/hello/manifests/multi",
 "GET /v2/demo/hello/manifests/multi", "GET /v2/demo/hello/manifests/multi",
 "HEAD /v2/demo/hello/manifests/multi", "GET /v2/demo/hello/manifests/multi",
 "DELETE /direct/v2/demo/hello/manifests/$::ListDigest", "GET /v2/demo/hello/tags/list"]
--- more_headers eval
["Content-Type: $::ListType", "Accept: $::Oci", "Accept: $::Oci", "Accept: $::ListType, $::Oci",
 "Accept: $::ListType, $::Oci", "Accept: $::Oci", "", ""]
--- error_code eval
[201, 200, 200, 200, 200, 200, 202, 200]
--- response_headers eval
["", "X-Cache-Status: MISS\nDocker-Content-Digest: $::Digest", "X-Cache-Status: HIT\nDocker-Content-Digest: $::Digest",
 "X-Cache-Status: MISS\nDocker-Content-Digest: $::ListDigest\nContent-Type: $::ListType",
 "X-Cache-Status: HIT\nDocker-Content-Digest: $::ListDigest\nContent-Type: $::ListType",
 "X-Cache-Status: MISS\nDocker-Content-Digest: $::Digest", "", ""]
--- response_body_like eval
["", qr/\A\Q$::Body\E\z/, qr/\A\Q$::Body\E\z/, qr/\A\Q$::List\E\z/, "", qr/\A\Q$::Body\E\z/, "",
 qr/\A\{"name":"demo\/hello","tags":\["1\.0"\]\}\s*\z/]



=== TEST 16: a client that names the list is not answered 304 for what a client that did not name it learned
The upstream compares If-None-Match with the digest of the list the tag names, not with its
linux/amd64 manifest's.
--- request eval
["PUT /direct/v2/demo/hello/manifests/multi\n$::List", "GET /v2/demo/hello/manifests/multi",
 "GET /v2/demo/hello/manifests/multi", "DELETE /direct/v2/demo/hello/manifests/$::ListDigest",
 "GET /v2/demo/hello/tags/list"]
--- more_headers eval
["Content-Type: $::ListType", "Accept: $::Oci", "Accept: $::ListType, $::Oci\nIf-None-Match: \"$::Digest\"", "", ""]
--- error_code eval
[201, 200, 200, 202, 200]
--- response_headers eval
["", "X-Cache-Status: MISS\nDocker-Content-Digest: $::Digest",
 "X-Cache-Status: MISS\nDocker-Content-Digest: $::ListDigest\nContent-Type: $::ListType", "", ""]
--- response_body_like eval
["", qr/\A\Q$::Body\E\z/, qr/\A\Q$::List\E\z/, "", qr/\A\{"name":"demo\/hello","tags":\["1\.0"\]\}\s*\z/]



=== TEST 17: the access log sees the digest and Etag a tag was answered with, as the client did
--- request eval
["GET $::Tag", "GET $::Tag", "HEAD $::Tag", "GET $::ByDigest", "GET /log"]
--- more_headers eval
["Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", "Accept: $::Oci", ""]
--- response_headers eval
["X-Cache-Status: MISS\n$::Headers", "X-Cache-Status: HIT\n$::Headers", "X-Cache-Status: HIT\n$::Headers",
 "X-Cache-Status: HIT\n$::Headers", ""]
--- response_body eval
[$::Body, $::Body, "", $::Body,
 # (A miss is logged by @registry, where the request ends.)
 "GET HIT $::Digest \"$::Digest\"\nHEAD HIT $::Digest \"$::Digest\"\nGET HIT $::Digest \"$::Digest\"\n"]
