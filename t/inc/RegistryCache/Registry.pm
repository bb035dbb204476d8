package RegistryCache::Registry;

# Writes to the real registry of the tests, straight (never through an edge), before the
# blocks run: a blob pushed whole, or an upload opened for a block to end through the edge.
#
#     use RegistryCache::Registry;
#     my $digest = RegistryCache::Registry::push_blob($port, 'e2e/x', $bytes);
#     my $path = RegistryCache::Registry::open_upload($port, 'e2e/y');  # /v2/e2e/y/blobs/uploads/<id>?_state=...
#     my $manifest = RegistryCache::Registry::push_manifest($port, 'e2e/z', 'a word of its own');

use strict;
use warnings;
use Digest::SHA ();
use HTTP::Tiny;

my $http = HTTP::Tiny->new;

# Opens an upload in REPOSITORY; its path and query, as a request line would carry them.
sub open_upload {
    my ($port, $repository) = @_;
    my $post = $http->post("http://127.0.0.1:$port/v2/$repository/blobs/uploads/");
    die "opening an upload in $repository: $post->{status}\n" unless $post->{status} == 202;
    $post->{headers}{location} =~ m{^(?:https?://[^/]+)?(/v2/.*)$}
        or die "upload location: $post->{headers}{location}\n";
    return $1;
}

# Pushes BYTES as a blob of REPOSITORY (one upload, closed by a PUT); its digest.
sub push_blob {
    my ($port, $repository, $bytes) = @_;
    my $digest = 'sha256:' . Digest::SHA::sha256_hex($bytes);
    my $upload = open_upload($port, $repository);
    my $put = $http->put("http://127.0.0.1:$port$upload&digest=$digest", { content => $bytes });
    die "pushing a blob to $repository: $put->{status}\n" unless $put->{status} == 201;
    return $digest;
}

# Pushes a manifest of its own to REPOSITORY, by digest: an OCI image of no layers whose
# config (pushed first) holds NONCE, so that each run's is new; its digest.
sub push_manifest {
    my ($port, $repository, $nonce) = @_;
    my $config = qq({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},)
               . qq("config":{"Labels":{"nonce":"$nonce"}}});
    my $config_digest = push_blob($port, $repository, $config);
    my $manifest = sprintf(q({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)
                         . q("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},)
                         . q("layers":[]}), $config_digest, length $config);
    my $digest = 'sha256:' . Digest::SHA::sha256_hex($manifest);
    my $put = $http->put("http://127.0.0.1:$port/v2/$repository/manifests/$digest",
                         { content => $manifest,
                           headers => { 'Content-Type' => 'application/vnd.oci.image.manifest.v1+json' } });
    die "pushing a manifest to $repository: $put->{status}\n" unless $put->{status} == 201;
    return $digest;
}

1;
