# Invalid repository names and digests are answered by the edge itself, with the registry's
# status, headers and OCI error JSON, and never reach the upstream: the upstream location
# here answers 418, so any 400 can only come from the module.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use HTTP::Tiny;

our $Sha = '0' x 64;
our $NameInvalid = '{"errors":[{"code":"NAME_INVALID","message":"invalid repository name",'
    . '"detail":"repository name must match the OCI name grammar, at most 255 bytes"}]}' . "\n";
our $DigestInvalid = '{"errors":[{"code":"DIGEST_INVALID",'
    . '"message":"provided digest did not match uploaded content","detail":"digest must be '
    . 'algorithm:encoded; sha256, sha384 and sha512 need lowercase hex of 64, 96 and 128 '
    . 'characters"}]}' . "\n";

# What the registry itself answers for a digest it refuses: the edge must answer alike.
our %Registry = do {
    my $port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
    my $res = HTTP::Tiny->new->get("http://127.0.0.1:$port/v2/demo/hello/blobs/sha256:"
                                   . ('ab' x 20));
    die "registry: expected 400, got $res->{status}" unless $res->{status} == 400;
    my ($code, $message) = $res->{content} =~ /"code":"([^"]+)","message":"([^"]+)"/
        or die "registry: no error JSON in $res->{content}";
    (status => $res->{status}, code => $code, message => $message,
     headers => join("\n", map { "$_: $res->{headers}{lc $_}" }
                     qw(Content-Type Docker-Distribution-Api-Version X-Content-Type-Options)));
};

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<'_EOC_') unless defined $block->http_config;
    registry_cache_path cache/edge zone=edge:1m;
_EOC_
    $block->set_value(config => <<'_EOC_') unless defined $block->config;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass @registry;
    }
    location @registry {
        return 418 "upstream reached\n";
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: a valid blob request is passed on
--- request eval
"GET /v2/library/alpine/blobs/sha256:$::Sha"
--- error_code: 418
--- response_body
upstream reached



=== TEST 2: upper case in the name
--- request eval
"GET /v2/Library/alpine/blobs/sha256:$::Sha"
--- error_code: 400
--- response_headers
Content-Type: application/json; charset=utf-8
Docker-Distribution-Api-Version: registry/2.0
X-Content-Type-Options: nosniff
--- response_body eval
$::NameInvalid
--- error_log
registry cache: invalid repository name



=== TEST 3: the edge's DIGEST_INVALID has the registry's status, code, message and headers
--- request eval
"GET /v2/demo/hello/blobs/sha256:" . ('ab' x 20)
--- error_code eval
$::Registry{status}
--- response_headers eval
$::Registry{headers}
--- response_body_like eval
qr/^\{"errors":\[\{"code":"\Q$::Registry{code}\E","message":"\Q$::Registry{message}\E",/



=== TEST 4: HEAD with an invalid digest: status and headers, no body
--- request eval
"HEAD /v2/app/blobs/sha256:" . ('A' x 64)
--- error_code: 400
--- response_headers eval
"Content-Length: " . length($::DigestInvalid) . "\nContent-Type: application/json; charset=utf-8"
--- response_body



=== TEST 5: a percent-encoded slash does not smuggle a name past the grammar
--- request eval
"GET /v2/demo%2Fhello/manifests/1.0"
--- error_code: 400
--- response_body eval
$::NameInvalid



=== TEST 6: a 255-byte name is valid
--- request eval
"GET /v2/" . ('n' x 255) . "/manifests/latest"
--- error_code: 418



=== TEST 7: a 256-byte name is not
--- request eval
"GET /v2/" . ('n' x 256) . "/manifests/latest"
--- error_code: 400
--- response_body eval
$::NameInvalid



=== TEST 8: dot-dot as a name component
--- request eval
"GET /v2/demo/../hello/blobs/sha256:$::Sha"
--- error_code: 400
--- response_body eval
$::NameInvalid



=== TEST 9: an empty name component
--- request eval
"GET /v2/demo//hello/tags/list"
--- error_code: 400
--- response_body eval
$::NameInvalid



=== TEST 10: a manifest reference that is a malformed digest
--- request
GET /v2/app/manifests/sha256:1234
--- error_code: 400
--- response_body eval
$::DigestInvalid



=== TEST 11: a sha512 digest of the wrong length
--- request eval
"GET /v2/app/blobs/sha512:$::Sha"
--- error_code: 400
--- response_body eval
$::DigestInvalid



=== TEST 12: an unknown but well-formed algorithm is passed on
--- request
GET /v2/app/blobs/blake3:Zm9vYmFyYmF6cXV4
--- error_code: 418



=== TEST 13: an invalid upload is refused before its body is read
--- request eval
"POST /v2/Bad/blobs/uploads/\n" . ('x' x 4096)
--- error_code: 400
--- response_body eval
$::NameInvalid



=== TEST 14: the query string is not part of the digest
--- request eval
"GET /v2/app/blobs/sha256:$::Sha?ns=docker.io"
--- error_code: 418



=== TEST 15: a tag that breaks the grammar is the upstream's to answer
--- request
GET /v2/app/manifests/-latest
--- error_code: 418



=== TEST 16: paths that are no API route are passed on
--- request
GET /v2/app/referrers/sha256:1234
--- error_code: 418
