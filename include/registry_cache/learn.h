// What the upstream's answer to a passed-on request teaches the cache. Pure decisions, so
// that every way an upstream can lie is unit tested without a network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"
#include "registry_cache/ping_record.h"
#include "registry_cache/route.h"
#include "registry_cache/tag_record.h"

namespace registry_cache {

enum class Method { head, get, del, put, post, other };

// The parts of an upstream exchange the cache looks at.
struct UpstreamAnswer {
    std::string_view path;  // the path the upstream was asked for, as sent (query cut off)
    int status = 0;
    std::string_view docker_content_digest;  // empty when absent
    std::int64_t content_length = -1;        // -1 when absent or not a valid integer
    std::string_view content_type;           // empty when absent
    bool content_encoded = false;            // a Content-Encoding was sent: the length is not the blob's
    std::string_view www_authenticate;       // empty when absent (read for the ping only)
    std::string_view api_version;            // Docker-Distribution-Api-Version (the ping only)
};

// A push through the edge that completed: a blob upload's `PUT` with `?digest=` (or a
// monolithic `POST` with it), or a cross-repository mount's `POST` with
// `?mount=<digest>&from=<repository>`, answered `201`
// with exactly that digest in Docker-Content-Digest (distribution's answer to both). The
// link's size is never the client's to say: the caller takes it from what the edge holds
// (the body it keeps, or the link of `from`).
struct PushedBlob {
    std::string digest;  // a cacheable digest
    std::string from;    // a mount's source repository (a valid name); empty for an upload
};
bool learn_push(const Route& route, Method method, std::string_view query, const UpstreamAnswer& answer,
                PushedBlob& out);

// A manifest pushed through the edge (a `PUT` of a manifest, by tag or by digest, answered
// `201`): recorded by the digest the registry answered when the bytes the client sent, whole
// (`body`), hash to it and name their own media type, equal to the `Content-Type` they were
// sent with (what a pull is then answered with). `out` gets the size and media type.
bool learn_pushed_manifest(const Route& route, Method method, const UpstreamAnswer& answer, std::string_view body,
                           std::string_view content_type, BlobDescriptor& out);

enum class Lesson {
    nothing,     // record nothing
    record,      // the descriptor (filled in) is confirmed in the route's repository
    clear_link   // the upstream accepted a DELETE: forget the link
};

// Decides for a request whose route parsed without error. The upstream must have been asked
// for the same object (a rewrite on the way teaches nothing). Records only a 200 to HEAD or
// GET of a blob of a cacheable digest, whose Docker-Content-Digest equals the requested
// digest exactly, whose Content-Length is a non-negative integer, without Content-Encoding,
// and whose Content-Type is a valid media type. Clears on a 202 to DELETE of a blob or of a
// manifest by digest. Everything else teaches nothing (a manifest is learned only from its
// bytes, below).
Lesson learn(const Route& route, Method method, const UpstreamAnswer& answer,
             std::uint64_t now, BlobDescriptor& descriptor) noexcept;

// Decides after a GET body was hashed as it streamed: records the blob, or the manifest by
// digest, of a cacheable digest when `computed` ("algorithm:hex") is the requested digest; the size is what was
// hashed and the media type must be valid. Docker-Content-Digest is not needed: the bytes
// themselves were checked.
Lesson learn_verified(const Route& route, std::string_view computed, std::uint64_t bytes,
                      std::string_view content_type, std::uint64_t now,
                      BlobDescriptor& descriptor) noexcept;

// A manifest asked for by a valid tag.
bool is_tag_route(const Route& route) noexcept;

// What an answer about a tag teaches from its headers: a 200 to HEAD (or to a GET whose body
// is not verified) with a Docker-Content-Digest of an algorithm the cache stores and a valid
// Content-Type, not encoded, records that the tag names that digest (`tag` filled in); a 201
// to PUT forgets the tag (clear_link: it moved, through this edge). Everything else teaches
// nothing. The manifest itself is learned only from verified bytes.
Lesson learn_tag(const Route& route, Method method, const UpstreamAnswer& answer,
                 std::uint64_t now, TagRecord& tag) noexcept;

// What a ping asked: by which Host, and whether the client sent headers that tell the
// upstream where it was reached (Forwarded, X-Forwarded-Host/-Proto/-Prefix).
struct PingAsked {
    bool credentialed = false;
    std::string_view host;  // as nginx validated it (lowercase)
    bool forwarding = false;
};

// What an answer to the ping (`/v2/`) teaches: the record to replay when the upstream fails
// (`ping` filled in), kept for the Host it was asked by, from a 200 or 401 to an anonymous
// GET or HEAD whose headers can be replayed as they are (is_replayable_ping). What a client
// with credentials was told may be for it alone (a 200 where others get the challenge), and
// an upstream may build its challenge's realm from what a client said of where it reached
// it: those teach nothing, and neither does a Host no key may hold (is_ping_host).
bool learn_ping(const Route& route, Method method, const PingAsked& asked, const UpstreamAnswer& answer,
                std::uint64_t now, PingRecord& ping);

// A blob named by a digest of an algorithm the cache records: what a lookup may find and a
// lesson may record.
bool is_recordable_blob(const Route& route) noexcept;
// The same for a manifest named by digest (a tag names no fixed bytes).
bool is_recordable_manifest(const Route& route) noexcept;

// Whether the upstream was asked (`upstream_path`, as sent, without query) for the object
// the route names: a rewrite on the way makes its answer about something else.
bool same_object(const Route& asked, std::string_view upstream_path) noexcept;

// The requested digest as it appears in keys and headers: "algorithm:encoded".
std::string_view digest_text(const Route& route) noexcept;

}  // namespace registry_cache
