# Requests the cache does not answer reach the real upstream registry unchanged, and its
# answers come back unchanged: pulls, monolithic pushes, deletes, errors.
# Needs TEST_NGINX_REGISTRY_PORT (a registry seeded with demo/hello:1.0) and the
# TEST_NGINX_HELLO_* digests; scripts/test.sh sets them.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use Digest::SHA qw(sha256_hex);
use HTTP::Tiny;

sub blob_file {
    my ($digest) = @_;
    (my $path = $digest) =~ s{:}{/};
    open my $fh, '<:raw', "$ENV{TEST_NGINX_HELLO_LAYOUT}/blobs/$path" or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

our $Upload = "a layer pushed through the edge";  # no newline: harnesses differ on chomping
our $UploadDigest = 'sha256:' . sha256_hex($Upload);

# An upload session opened on the registry directly; the test finishes it through the edge,
# so the PUT's method, query and body must all arrive intact for the registry to accept it.
our $UploadPath = do {
    my $res = HTTP::Tiny->new->post(
        "http://127.0.0.1:$ENV{TEST_NGINX_REGISTRY_PORT}/v2/edge/pushed/blobs/uploads/");
    die "cannot open an upload session: $res->{status} $res->{content}" if $res->{status} != 202;
    (my $path = $res->{headers}{location}) =~ s{^https?://[^/]+}{};
    $path;
};

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<'_EOC_') unless defined $block->http_config;
    registry_cache_path cache/edge zone=edge:1m;
_EOC_
    $block->set_value(config => <<'_EOC_') unless defined $block->config;
    location /v2/ {
        client_max_body_size 0;
        registry_cache edge;
        registry_cache_pass @registry;
    }
    location @registry {
        proxy_pass http://127.0.0.1:$TEST_NGINX_REGISTRY_PORT;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_request_buffering off;
        proxy_buffering off;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: the API version check comes from the registry
--- request
GET /v2/
--- response_headers
Docker-Distribution-Api-Version: registry/2.0
Content-Type: application/json; charset=utf-8
--- response_body chomp
{}



=== TEST 2: HEAD of a blob: the registry's status and headers, no body
--- request eval
"HEAD /v2/demo/hello/blobs/$ENV{TEST_NGINX_HELLO_LAYER}"
--- response_headers eval
"Docker-Content-Digest: $ENV{TEST_NGINX_HELLO_LAYER}
Content-Length: " . length(main::blob_file($ENV{TEST_NGINX_HELLO_LAYER})) . "
Accept-Ranges: bytes
Etag: \"$ENV{TEST_NGINX_HELLO_LAYER}\""
--- response_body



=== TEST 3: GET of a blob streams the exact bytes
--- request eval
"GET /v2/demo/hello/blobs/$ENV{TEST_NGINX_HELLO_LAYER}"
--- response_headers eval
"Docker-Content-Digest: $ENV{TEST_NGINX_HELLO_LAYER}"
--- response_body eval
main::blob_file($ENV{TEST_NGINX_HELLO_LAYER})



=== TEST 4: manifest by tag, with the client's Accept header passed on
--- request
GET /v2/demo/hello/manifests/1.0
--- more_headers
Accept: application/vnd.oci.image.manifest.v1+json
--- response_headers eval
"Docker-Content-Digest: $ENV{TEST_NGINX_HELLO_MANIFEST}
Content-Type: application/vnd.oci.image.manifest.v1+json"
--- response_body eval
main::blob_file($ENV{TEST_NGINX_HELLO_MANIFEST})



=== TEST 5: manifest by digest
--- request eval
"GET /v2/demo/hello/manifests/$ENV{TEST_NGINX_HELLO_MANIFEST}"
--- more_headers
Accept: application/vnd.oci.image.manifest.v1+json
--- response_body eval
main::blob_file($ENV{TEST_NGINX_HELLO_MANIFEST})



=== TEST 6: tags list with its query string
--- request
GET /v2/demo/hello/tags/list?n=10
--- response_body_like chomp
^\{"name":"demo/hello","tags":\["1\.0"\]\}$



=== TEST 7: catalog
--- request
GET /v2/_catalog
--- response_body_like chomp
"demo/hello"



=== TEST 8: an unknown blob: the registry's 404 and error JSON, unchanged
--- request eval
"GET /v2/demo/hello/blobs/sha256:" . ("0" x 64)
--- error_code: 404
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"errors":\[\{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:0{64}"\}\]\}$



=== TEST 9: the end of a push: method, query and body reach the registry intact
--- request eval
"PUT $::UploadPath&digest=$::UploadDigest\n$::Upload"
--- more_headers
Content-Type: application/octet-stream
--- error_code: 201
--- response_headers eval
"Docker-Content-Digest: $::UploadDigest"



=== TEST 10: the pushed blob is there, with the size of the body that was sent
--- request eval
"HEAD /v2/edge/pushed/blobs/$::UploadDigest"
--- response_headers eval
"Docker-Content-Digest: $::UploadDigest
Content-Length: " . length($::Upload)



=== TEST 11: DELETE reaches the registry
--- request eval
"DELETE /v2/edge/pushed/blobs/$::UploadDigest"
--- error_code: 202



=== TEST 12: and the blob is gone
--- request eval
"HEAD /v2/edge/pushed/blobs/$::UploadDigest"
--- error_code: 404
--- response_body
