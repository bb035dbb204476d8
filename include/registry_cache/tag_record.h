// What a tag named when the upstream last said: (repository, tag) -> the manifest's digest,
// its media type, when it was learned and who may be answered from it. A tag moves, so its
// record says when it was true; registry_cache_tag_ttl decides for how long it is trusted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"
#include "registry_cache/digest.h"

namespace registry_cache {

// "algorithm:hex" of a digest the cache stores, held inline: reading a tag allocates nothing.
class DigestText {
public:
    std::string_view view() const noexcept { return {data_, size_}; }
    // False (and left empty) unless `text` parses as a digest of sha256/384/512.
    bool assign(std::string_view text) noexcept;

private:
    friend DecodeStatus decode(std::string_view, struct TagRecord&) noexcept;
    char data_[7 + 128];  // "sha512:" and 128 hex, the longest
    std::uint8_t size_ = 0;
};

struct TagRecord {
    LinkScope scope = LinkScope::public_access;
    std::uint64_t stored_at = 0;  // unix seconds when the upstream said it
    DigestText digest;            // the manifest's
    MediaType media_type;         // the manifest's Content-Type
    // And its Content-Length, which with the above is all a HEAD of the tag is answered; 0:
    // not known (an answer without one, a version 1 record).
    std::uint64_t size = 0;
    // Learned from a client that names the Docker manifest list type. A registry answers a
    // tag of a list, for a client that does not, with the manifest of one platform
    // (linux/amd64) instead: what such a client learned may be that, and answers only clients
    // that do not name the list either (policy/manifest_answer.h).
    bool learned_naming_list = false;
};

inline constexpr std::uint8_t tag_record_version = 2;

// version(1) scope(1) flags(1: bit 0 learned_naming_list) stored_at(8) size(8) algorithm(1: 1 sha256,
// 2 sha384, 3 sha512) digest bytes(32/48/64) media_code(1) [media_length(1) media_type(n)
// when the code is 0]. Empty when the record has no digest. Version 1, written before the
// flags and the size, had neither: it reads as learned_naming_list false, size 0.
std::string encode(const TagRecord& record);
// As decode(LinkRecord): `out` untouched unless ok; unknown versions and media codes read as
// unknown_version.
DecodeStatus decode(std::string_view bytes, TagRecord& out) noexcept;

}  // namespace registry_cache
