// LMDB keys, built only from parsed and validated parts (never from raw request bytes).
#pragma once

#include <cstddef>
#include <string_view>

#include "registry_cache/digest.h"
#include "registry_cache/reference.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {

// sha512 is the longest digest the cache stores: "sha512:" + 128 hex.
inline constexpr std::size_t max_digest_length = 7 + 128;
// [mark namespace '\0'] repository '\0' digest; below LMDB's default 511-byte key limit.
inline constexpr std::size_t max_key_length = 1 + max_stored_namespace_length + 1 + max_name_length + 1 + max_digest_length;
static_assert(max_key_length <= 511, "LMDB's default key limit");

// A key on the stack: building one on the hit path allocates nothing.
class Key {
public:
    std::string_view view() const noexcept { return {data_, size_}; }
    bool empty() const noexcept { return size_ == 0; }

private:
    friend Key descriptor_key(const Digest&) noexcept;
    friend Key link_key(std::string_view, const Digest&) noexcept;
    friend Key content_key(const Digest&) noexcept;
    friend Key tag_key(std::string_view, std::string_view) noexcept;
    bool append(std::string_view part) noexcept;
    bool append_hex_as_bytes(std::string_view lower_hex) noexcept;
    // Not zeroed: built on every hit, and only the first size_ bytes are ever read.
    char data_[max_key_length];
    std::size_t size_ = 0;
};

// "algorithm:encoded": the key of the version 1 layout's table of descriptors, kept only to
// build such files in tests. Empty for a digest the cache does not store.
Key descriptor_key(const Digest& digest) noexcept;
// "repository \0 algorithm-byte digest-bytes" (1 for sha256, 2 sha384, 3 sha512; the
// encoded hex as the bytes it spells), the repository as the store keeps it (in_namespace()).
// Empty when the repository name, its namespace or the digest is not valid: callers must
// treat an empty key as "not cacheable".
Key link_key(std::string_view repository, const Digest& digest) noexcept;
// "algorithm-byte digest-bytes": the key of content stored once per digest, whichever
// repositories link it (manifest bodies). Empty for a digest the cache does not store.
Key content_key(const Digest& digest) noexcept;
// The content key inside a link key of `repository`: its bytes after "repository \0", the
// same bytes content_key() would build from the digest again. Empty for an empty key.
inline std::string_view content_key_in(const Key& link, std::string_view repository) noexcept {
    return link.empty() ? std::string_view{} : link.view().substr(repository.size() + 1);
}
// The other way: the content key at the end of a link key (after its repository, in a
// namespace or not), as content_key() would build it; empty for bytes that are no link key.
std::string_view content_key_of_link(std::string_view link) noexcept;
// "repository \0 tag", the repository as the store keeps it. Empty when either is not valid.
Key tag_key(std::string_view repository, std::string_view tag) noexcept;

// The other way: "algorithm:hex" of the digest a content key (algorithm byte, digest bytes)
// names, written to `out` (room for max_digest_length); its length, or 0 for bytes that are
// no content key.
std::size_t digest_text_of_content_key(std::string_view key, char* out) noexcept;

}  // namespace registry_cache
