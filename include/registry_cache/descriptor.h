// What the cache knows about a blob, and the records that hold it in LMDB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace registry_cache {

// A media type is echoed to clients as Content-Type, so only a well-formed one is kept:
// type "/" subtype ["+" suffix] [";" params], at most 255 bytes, printable ASCII only.
inline constexpr std::size_t max_media_type_length = 255;
bool is_valid_media_type(std::string_view media_type) noexcept;

enum class DecodeStatus { ok, unknown_version, damaged };
class MediaType;
namespace record_bytes {
void assign_decoded(MediaType& out, std::string_view text) noexcept;
}

// A media type held inline, so that a lookup on the hit path allocates nothing.
class MediaType {
public:
    // False (and left empty) when `text` is not a valid media type.
    bool assign(std::string_view text) noexcept;
    std::string_view view() const noexcept { return {data_, size_}; }

private:
    // The record decoders copy what they have judged already, or a text of the known table,
    // without judging it again on every hit.
    friend void record_bytes::assign_decoded(MediaType& out, std::string_view text) noexcept;
    void assign_valid(std::string_view text) noexcept;

    // Not zeroed: only the first size_ bytes are ever read.
    char data_[max_media_type_length];
    std::uint8_t size_ = 0;
};

// What the upstream said about a blob in one repository: what a hit sends.
struct BlobDescriptor {
    std::uint64_t size = 0;       // bytes, from the upstream's Content-Length
    std::uint64_t stored_at = 0;  // unix seconds when it was learned
    MediaType media_type;
};

// Who may be served a hit for a (repository, digest) link.
enum class LinkScope : std::uint8_t {
    public_access = 1,  // learned from a request without credentials
    credentialed = 2    // learned with an Authorization header: not served as a hit yet
};

// The per-repository record: the upstream confirmed this digest in this repository.
struct BlobLink {
    LinkScope scope = LinkScope::public_access;
    std::uint64_t stored_at = 0;
};

// The one record stored under "repository \0 digest": everything a hit sends, so that a
// hit reads one record, and what one repository's upstream said (its media type above all)
// never shows in another's hits. One time serves both the link and its descriptor: they are
// learned from the same answer.
struct LinkRecord {
    LinkScope scope = LinkScope::public_access;
    std::uint64_t size = 0;
    std::uint64_t stored_at = 0;
    MediaType media_type;
};

// Records start with a format version byte; a reader that meets a version it does not know
// treats the record as absent (a miss), and a short or inconsistent record as damage.
// Version 1 was the split layout (a global descriptor plus a link without it), version 2 a
// link record with its media type always as text; version 3 names a known media type by one
// byte (media_types.h). Tables of older layouts are dropped when the store opens.
inline constexpr std::uint8_t record_version = 3;

std::string encode(const LinkRecord& record);
// `out` is left untouched unless the result is ok. A media type code this build does not
// know reads as an unknown version (a miss, learned again), not as damage.
DecodeStatus decode(std::string_view bytes, LinkRecord& out) noexcept;

}  // namespace registry_cache
