// When a stored manifest may answer a request by digest, and how: the upstream's own rules
// (distribution 2.8, registry/handlers/manifests.go), so that the edge answers exactly what
// the upstream would. Fetched by digest, a manifest is never rewritten, but an OCI manifest
// or index is refused (404) to a client whose Accept does not name its type; and an
// If-None-Match naming the digest is a 304 before anything else is looked at.
#pragma once

#include <string_view>

namespace registry_cache {

// The manifest types a request's Accept headers name (only those that change an answer).
// Registries read Accept differently: distribution 2.8 cuts each entry at ';' and compares
// it as it is; distribution 3 skips an entry that Go's mime.ParseMediaType refuses (a
// malformed parameter) and lowercases the rest. So a type is named here only when every one of
// them would see it named (the type in lower case, its parameters well formed), and the
// Docker list is also noted when any of them might see it (`mentions_docker_list`): what is
// named lets the edge answer, what is mentioned keeps it from answering wrong.
struct ManifestAccept {
    bool oci_manifest = false;     // application/vnd.oci.image.manifest.v1+json
    bool oci_index = false;        // application/vnd.oci.image.index.v1+json
    bool docker_manifest = false;  // application/vnd.docker.distribution.manifest.v2+json
    bool docker_list = false;      // application/vnd.docker.distribution.manifest.list.v2+json
    bool mentions_docker_list = false;  // in any case, with any parameters
};

// Adds what one Accept header value names: a comma-separated list of media types, each with
// optional parameters (q values too).
void add_accept(std::string_view accept_header, ManifestAccept& accept) noexcept;

// Whether the upstream would send a stored manifest of `media_type` (its Content-Type) to a
// client that accepts `accept`: false for an OCI manifest or index the client did not name.
bool accepts_manifest(std::string_view media_type, const ManifestAccept& accept) noexcept;

// The same for a manifest asked for by tag, which the upstream also rewrites: a Docker
// image manifest into schema 1, a Docker manifest list into its linux/amd64 manifest, for a
// client that does not name their types. So a stored manifest answers a tag only when the
// client names its type exactly, whichever of the four it is; any other type goes upstream.
// And an image manifest that a client not naming the list type learned of a tag
// (`learned_naming_list` false: maybe a list's linux/amd64 manifest) answers only clients that
// do not mention it either, to whom the upstream would give the same; a client that names it
// would be given the list (an arm64 node, say, the image of another platform). An index or a
// list is never a rewrite: it answers whoever names its type.
bool accepts_tagged_manifest(std::string_view media_type, bool learned_naming_list,
                             const ManifestAccept& accept) noexcept;

// Whether an If-None-Match that names what a tag record names may be answered 304: not when
// the record may be a list's rewrite and the client mentions the list (the upstream compares
// the list's own digest).
bool tag_not_modified_answerable(std::string_view media_type, bool learned_naming_list,
                                 const ManifestAccept& accept) noexcept;

// Whether one If-None-Match header value names `digest` ("algorithm:hex"), quoted or not.
// Exactly, as distribution compares: no list, no weak tags.
bool if_none_match_names(std::string_view if_none_match, std::string_view digest) noexcept;

}  // namespace registry_cache
