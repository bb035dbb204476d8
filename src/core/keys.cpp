#include "registry_cache/keys.h"

#include <cstring>

namespace registry_cache {
namespace {

// A Digest is a plain struct anyone can fill in; the key must not trust that it came from
// parse_digest with status ok, so the parts that end up in the key are checked again here.
bool is_cacheable_digest(const Digest& digest) noexcept {
    if (!is_cacheable(digest.algorithm)) return false;
    if (digest.algorithm_name != algorithm_name(digest.algorithm)) return false;
    if (digest.encoded.size() != encoded_hex_length(digest.algorithm)) return false;
    return is_lower_hex_text(digest.encoded);
}

// Lowercase hex only (as the digest grammar demands of the algorithms the cache stores):
// the value of each byte, or -1. A table, because this runs on every hit over 64 to 128
// bytes.
struct HexValues {
    signed char value[256] = {};
    constexpr HexValues() {
        for (int c = 0; c < 256; ++c) {
            value[c] = c >= '0' && c <= '9'   ? static_cast<signed char>(c - '0')
                       : c >= 'a' && c <= 'f' ? static_cast<signed char>(c - 'a' + 10)
                                              : -1;
        }
    }
};
constexpr HexValues hex_values;

// A key names the algorithm by a byte of its own, not by the enum's value, so that the
// file never depends on the order of an enum.
char algorithm_byte(DigestAlgorithm a) noexcept {
    switch (a) {
        case DigestAlgorithm::sha256: return '\x01';
        case DigestAlgorithm::sha384: return '\x02';
        case DigestAlgorithm::sha512: return '\x03';
        case DigestAlgorithm::other: break;
    }
    return '\0';
}

// A repository name as the store keeps it: a valid name, in the empty namespace or a valid one.
bool is_stored_name(std::string_view repository) noexcept {
    std::string_view ns, name;
    return split_namespace(repository, ns, name) && is_valid_name(name);
}

}  // namespace

bool Key::append_hex_as_bytes(std::string_view hex) noexcept {
    if (hex.size() % 2 != 0 || hex.size() / 2 > max_key_length - size_) return false;
    const auto* in = reinterpret_cast<const unsigned char*>(hex.data());
    char* out = data_ + size_;
    // Bad bytes are gathered, not branched on: one test at the end.
    int bad = 0;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = hex_values.value[in[i]];
        const int low = hex_values.value[in[i + 1]];
        bad |= high | low;
        *out++ = static_cast<char>((static_cast<unsigned>(high) << 4) | static_cast<unsigned>(low));
    }
    if (bad < 0) return false;
    size_ += hex.size() / 2;
    return true;
}

bool Key::append(std::string_view part) noexcept {
    if (part.size() > max_key_length - size_) return false;
    if (!part.empty()) std::memcpy(data_ + size_, part.data(), part.size());
    size_ += part.size();
    return true;
}

Key descriptor_key(const Digest& digest) noexcept {
    Key key;
    if (!is_cacheable_digest(digest)) return key;
    if (!key.append(digest.algorithm_name) || !key.append(":") || !key.append(digest.encoded)) {
        return Key{};
    }
    return key;
}

Key link_key(std::string_view repository, const Digest& digest) noexcept {
    Key key;
    // The hex is judged as it is turned into bytes, below.
    if (!is_stored_name(repository) || !is_cacheable(digest.algorithm) ||
        digest.algorithm_name != algorithm_name(digest.algorithm) ||
        digest.encoded.size() != encoded_hex_length(digest.algorithm)) {
        return key;
    }
    // NUL occurs in no valid name nor namespace, so the split is unambiguous (no name can be a
    // prefix trick on another's keys) and one repository's links sort together. The digest is
    // kept as its bytes: half the length of its hex, so more links share a page of the map.
    const char algorithm[1] = {algorithm_byte(digest.algorithm)};
    if (!key.append(repository) || !key.append(std::string_view("\0", 1)) ||
        !key.append(std::string_view(algorithm, 1)) || !key.append_hex_as_bytes(digest.encoded)) {
        return Key{};
    }
    return key;
}

Key content_key(const Digest& digest) noexcept {
    Key key;
    if (!is_cacheable(digest.algorithm) || digest.algorithm_name != algorithm_name(digest.algorithm) ||
        digest.encoded.size() != encoded_hex_length(digest.algorithm)) {
        return key;
    }
    const char algorithm[1] = {algorithm_byte(digest.algorithm)};
    if (!key.append(std::string_view(algorithm, 1)) || !key.append_hex_as_bytes(digest.encoded)) {
        return Key{};
    }
    return key;
}

Key tag_key(std::string_view repository, std::string_view tag) noexcept {
    Key key;
    // NUL is in neither a valid name nor a valid tag: the split is unambiguous.
    if (!is_stored_name(repository) || !is_valid_tag(tag) || !key.append(repository) ||
        !key.append(std::string_view("\0", 1)) || !key.append(tag)) {
        return Key{};
    }
    return key;
}

std::string_view content_key_of_link(std::string_view link) noexcept {
    std::size_t start = 0;
    if (!link.empty() && link[0] == namespace_mark) {
        start = link.find('\0');
        if (start == std::string_view::npos) return {};
        ++start;
    }
    const std::size_t nul = link.find('\0', start);
    if (nul == std::string_view::npos) return {};
    const std::string_view content = link.substr(nul + 1);
    std::size_t bytes = 0;
    switch (content.empty() ? '\0' : content[0]) {
        case '\x01': bytes = 32; break;
        case '\x02': bytes = 48; break;
        case '\x03': bytes = 64; break;
        default: return {};
    }
    return content.size() == 1 + bytes ? content : std::string_view{};
}

std::size_t digest_text_of_content_key(std::string_view key, char* out) noexcept {
    if (key.empty()) return 0;
    std::string_view name;
    std::size_t bytes = 0;
    switch (key[0]) {
        case '\x01': name = "sha256:"; bytes = 32; break;
        case '\x02': name = "sha384:"; bytes = 48; break;
        case '\x03': name = "sha512:"; bytes = 64; break;
        default: return 0;
    }
    if (key.size() != 1 + bytes) return 0;
    constexpr char hex_digits[] = "0123456789abcdef";
    name.copy(out, name.size());
    char* text = out + name.size();
    for (std::size_t i = 1; i <= bytes; ++i) {
        const auto byte = static_cast<unsigned char>(key[i]);
        *text++ = hex_digits[byte >> 4];
        *text++ = hex_digits[byte & 0xf];
    }
    return name.size() + 2 * bytes;
}

}  // namespace registry_cache
