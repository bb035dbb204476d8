// Digest grammar of the OCI image spec: `algorithm ":" encoded`.
#pragma once

#include <cstddef>
#include <string_view>

namespace registry_cache {

// Algorithms whose encoded length and alphabet we know; only these can ever be cached.
enum class DigestAlgorithm { sha256, sha384, sha512, other };

enum class DigestStatus {
    ok,           // well formed and, for a known algorithm, the right length and alphabet
    malformed,    // does not fit the grammar at all
    bad_encoding  // a known algorithm whose encoded part is not lowercase hex of the right length
};

struct Digest {
    DigestAlgorithm algorithm = DigestAlgorithm::other;
    std::string_view algorithm_name;  // slice of the input, e.g. "sha256"
    std::string_view encoded;         // slice of the input, after ':'
};

struct DigestParse {
    DigestStatus status = DigestStatus::malformed;
    Digest digest;
};

// True when every byte of `s` is a lowercase hex digit (true for an empty `s`).
bool is_lower_hex_text(std::string_view s) noexcept;

// Parses `text` without copying; the result points into `text`.
DigestParse parse_digest(std::string_view text) noexcept;

// True for sha256/sha384/sha512: digests the cache may verify and record.
constexpr bool is_cacheable(DigestAlgorithm a) noexcept { return a != DigestAlgorithm::other; }

// "sha256", "sha384", "sha512"; empty for `other`.
std::string_view algorithm_name(DigestAlgorithm a) noexcept;

// Hex length of the encoded part of a known algorithm (0 for `other`).
std::size_t encoded_hex_length(DigestAlgorithm a) noexcept;

}  // namespace registry_cache
