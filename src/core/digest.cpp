#include "registry_cache/digest.h"

namespace registry_cache {
namespace {

constexpr bool is_lower_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

constexpr bool is_lower_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// One load per byte instead of a chain of comparisons: this runs on every cached HEAD
// (the route's digest, then the key's check of it again), over 64 to 128 bytes each time.
struct HexTable {
    bool lower_hex[256] = {};
    constexpr HexTable() {
        for (int c = 0; c < 256; ++c) lower_hex[c] = is_lower_hex(static_cast<char>(c));
    }
};
constexpr HexTable hex_table;

// algorithm-component ([+._-] algorithm-component)*, component = [a-z0-9]+
bool is_valid_algorithm(std::string_view s) noexcept {
    bool after_separator = true;  // the name must start and end with a component
    for (char c : s) {
        if (is_lower_alnum(c)) {
            after_separator = false;
        } else if (c == '+' || c == '.' || c == '_' || c == '-') {
            if (after_separator) return false;
            after_separator = true;
        } else {
            return false;
        }
    }
    return !after_separator;
}

// [a-zA-Z0-9=_-]+
bool is_valid_encoded(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '=' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

DigestAlgorithm known_algorithm(std::string_view name) noexcept {
    if (name == "sha256") return DigestAlgorithm::sha256;
    if (name == "sha384") return DigestAlgorithm::sha384;
    if (name == "sha512") return DigestAlgorithm::sha512;
    return DigestAlgorithm::other;
}

}  // namespace

std::string_view algorithm_name(DigestAlgorithm a) noexcept {
    switch (a) {
        case DigestAlgorithm::sha256: return "sha256";
        case DigestAlgorithm::sha384: return "sha384";
        case DigestAlgorithm::sha512: return "sha512";
        case DigestAlgorithm::other: break;
    }
    return {};
}

std::size_t encoded_hex_length(DigestAlgorithm a) noexcept {
    switch (a) {
        case DigestAlgorithm::sha256: return 64;
        case DigestAlgorithm::sha384: return 96;
        case DigestAlgorithm::sha512: return 128;
        case DigestAlgorithm::other: break;
    }
    return 0;
}

bool is_lower_hex_text(std::string_view s) noexcept {
    unsigned char all = 1;
    // No early exit: the loop stays branch-free, and a bad byte is the rare case.
    for (char c : s) {
        all &= static_cast<unsigned char>(hex_table.lower_hex[static_cast<unsigned char>(c)]);
    }
    return all != 0;
}

DigestParse parse_digest(std::string_view text) noexcept {
    DigestParse result;
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return result;

    std::string_view algorithm = text.substr(0, colon);
    std::string_view encoded = text.substr(colon + 1);
    // The common case first: a registered algorithm in its exact form (lowercase hex of its
    // length) is all the grammar below would accept for it, in one pass.
    const DigestAlgorithm known = known_algorithm(algorithm);
    if (is_cacheable(known) && encoded.size() == encoded_hex_length(known) &&
        is_lower_hex_text(encoded)) {
        result.digest = Digest{known, algorithm, encoded};
        result.status = DigestStatus::ok;
        return result;
    }
    if (!is_valid_algorithm(algorithm) || !is_valid_encoded(encoded)) return result;

    result.digest = Digest{known_algorithm(algorithm), algorithm, encoded};
    if (is_cacheable(result.digest.algorithm)) {
        // A registered algorithm is held to its exact form: lowercase hex of a fixed length.
        if (encoded.size() != encoded_hex_length(result.digest.algorithm)) {
            result.status = DigestStatus::bad_encoding;
            return result;
        }
        for (char c : encoded) {
            if (!is_lower_hex(c)) {
                result.status = DigestStatus::bad_encoding;
                return result;
            }
        }
    }
    result.status = DigestStatus::ok;
    return result;
}

}  // namespace registry_cache
