// LMDB keys, built only from parsed and validated parts (never from raw request bytes).
#pragma once

#include <cstddef>
#include <string_view>

#include "registry_cache/digest.h"
#include "registry_cache/reference.h"

namespace registry_cache {

// sha512 is the longest digest the cache stores: "sha512:" + 128 hex.
inline constexpr std::size_t max_digest_length = 7 + 128;
// repository '\0' digest; below LMDB's default 511-byte key limit.
inline constexpr std::size_t max_key_length = max_name_length + 1 + max_digest_length;

// A key on the stack: building one on the hit path allocates nothing.
class Key {
public:
    std::string_view view() const noexcept { return {data_, size_}; }
    bool empty() const noexcept { return size_ == 0; }

private:
    friend Key descriptor_key(const Digest&) noexcept;
    friend Key link_key(std::string_view, const Digest&) noexcept;
    bool append(std::string_view part) noexcept;
    char data_[max_key_length] = {};
    std::size_t size_ = 0;
};

// "algorithm:encoded". Empty for a digest the cache does not store (not sha256/384/512).
Key descriptor_key(const Digest& digest) noexcept;
// "repository\0algorithm:encoded". Empty when the repository name or the digest is not
// valid: callers must treat an empty key as "not cacheable".
Key link_key(std::string_view repository, const Digest& digest) noexcept;

}  // namespace registry_cache
