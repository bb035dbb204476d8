// Incremental digests of streamed bodies (OpenSSL EVP): sha256, sha384, sha512.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/digest.h"

namespace registry_cache {

class Hasher {
public:
    Hasher() noexcept = default;
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    // False for DigestAlgorithm::other or when OpenSSL fails.
    bool start(DigestAlgorithm algorithm) noexcept;
    bool update(const void* data, std::size_t size) noexcept;
    // "algorithm:hex" of everything given to update(); empty when OpenSSL failed. Once.
    std::string finish();

    std::uint64_t bytes() const noexcept { return bytes_; }
    bool started() const noexcept { return ctx_ != nullptr; }

private:
    void* ctx_ = nullptr;  // EVP_MD_CTX, kept opaque so that users need no OpenSSL headers
    DigestAlgorithm algorithm_ = DigestAlgorithm::other;
    std::uint64_t bytes_ = 0;
};

// The digest of `data` in one call, e.g. for tests: "algorithm:hex", empty on failure.
std::string digest_of(DigestAlgorithm algorithm, std::string_view data);

}  // namespace registry_cache
