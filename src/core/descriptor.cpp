#include "registry_cache/descriptor.h"

#include <cstdint>

#include <cstring>

namespace registry_cache {
namespace {

constexpr bool is_alnum(unsigned char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 6838 restricted-name-chars (after the first, which must be alphanumeric).
constexpr bool is_restricted_name_char(unsigned char c) noexcept {
    switch (c) {
        case '!': case '#': case '$': case '&': case '^': case '_': case '.': case '+': case '-':
            return true;
        default:
            return is_alnum(c);
    }
}

// RFC 7230 tchar.
constexpr bool is_tchar(unsigned char c) noexcept {
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
        case '-': case '.': case '^': case '_': case '`': case '|': case '~':
            return true;
        default:
            return is_alnum(c);
    }
}

// Printable ASCII and space: everything else (CR, LF, NUL, DEL, bytes of UTF-8) could split
// or smuggle a header when the media type is echoed as Content-Type.
constexpr bool is_printable(unsigned char c) noexcept { return c >= 0x20 && c < 0x7f; }

// Reads a restricted-name (1 to 127 bytes) at `i`; advances `i` past it.
bool restricted_name(std::string_view s, std::size_t& i) noexcept {
    const std::size_t start = i;
    if (i >= s.size() || !is_alnum(static_cast<unsigned char>(s[i]))) return false;
    ++i;
    while (i < s.size() && is_restricted_name_char(static_cast<unsigned char>(s[i]))) ++i;
    return i - start <= 127;
}

bool token(std::string_view s, std::size_t& i) noexcept {
    const std::size_t start = i;
    while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
    return i > start;
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; printability is checked up front.
bool quoted_string(std::string_view s, std::size_t& i) noexcept {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    while (i < s.size()) {
        char c = s[i];
        if (c == '"') {
            ++i;
            return true;
        }
        if (c == '\\') {
            if (i + 1 >= s.size()) return false;
            i += 2;
        } else {
            ++i;
        }
    }
    return false;  // unterminated
}

void skip_spaces(std::string_view s, std::size_t& i) noexcept {
    while (i < s.size() && s[i] == ' ') ++i;
}

void put_u64(std::string& out, std::uint64_t v) {
    for (int shift = 0; shift < 64; shift += 8) {
        out.push_back(static_cast<char>(static_cast<unsigned char>((v >> shift) & 0xff)));
    }
}

// Assembled byte by byte: records come from an mmap at any alignment and from files written
// on any host, so neither a struct copy nor host byte order can be trusted.
std::uint64_t get_u64(const unsigned char* p) noexcept {
    std::uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | p[k];
    return v;
}

// version(1) size(8) stored_at(8) media_type_length(1) media_type(n)
constexpr std::size_t descriptor_fixed_size = 1 + 8 + 8 + 1;
// version(1) scope(1) stored_at(8)
constexpr std::size_t link_size = 1 + 1 + 8;

}  // namespace

bool is_valid_media_type(std::string_view s) noexcept {
    if (s.empty() || s.size() > max_media_type_length) return false;
    for (char c : s) {
        if (!is_printable(static_cast<unsigned char>(c))) return false;
    }

    std::size_t i = 0;
    if (!restricted_name(s, i)) return false;
    if (i >= s.size() || s[i] != '/') return false;
    ++i;
    if (!restricted_name(s, i)) return false;

    // *( OWS ";" OWS name "=" ( token / quoted-string ) ), OWS limited to spaces because
    // HTAB is already refused as a control byte.
    while (i < s.size()) {
        skip_spaces(s, i);
        if (i >= s.size() || s[i] != ';') return false;
        ++i;
        skip_spaces(s, i);
        if (!token(s, i)) return false;
        if (i >= s.size() || s[i] != '=') return false;
        ++i;
        if (i < s.size() && s[i] == '"') {
            if (!quoted_string(s, i)) return false;
        } else if (!token(s, i)) {
            return false;
        }
    }
    return true;
}

bool MediaType::assign(std::string_view text) noexcept {
    if (!is_valid_media_type(text)) {
        size_ = 0;
        return false;
    }
    std::memcpy(data_, text.data(), text.size());
    size_ = static_cast<std::uint8_t>(text.size());
    return true;
}

std::string encode(const BlobDescriptor& descriptor) {
    std::string_view media_type = descriptor.media_type.view();
    std::string out;
    out.reserve(descriptor_fixed_size + media_type.size());
    out.push_back(static_cast<char>(record_version));
    put_u64(out, descriptor.size);
    put_u64(out, descriptor.stored_at);
    // MediaType holds at most 255 bytes, so its length always fits the byte.
    out.push_back(static_cast<char>(static_cast<unsigned char>(media_type.size())));
    out.append(media_type.data(), media_type.size());
    return out;
}

std::string encode(const BlobLink& link) {
    std::string out;
    out.reserve(link_size);
    out.push_back(static_cast<char>(record_version));
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(link.scope)));
    put_u64(out, link.stored_at);
    return out;
}

DecodeStatus decode(std::string_view bytes, BlobDescriptor& out) noexcept {
    if (bytes.empty()) return DecodeStatus::damaged;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    // The version decides the layout, so it is judged before the length.
    if (p[0] != record_version) return DecodeStatus::unknown_version;
    if (bytes.size() < descriptor_fixed_size) return DecodeStatus::damaged;
    const std::size_t media_length = p[17];
    if (bytes.size() != descriptor_fixed_size + media_length) return DecodeStatus::damaged;

    // Decoded into a temporary so that `out` is untouched unless the whole record is good.
    BlobDescriptor decoded;
    decoded.size = get_u64(p + 1);
    decoded.stored_at = get_u64(p + 9);
    // A size nginx cannot send as Content-Length (off_t) was never written by this code.
    if (decoded.size > static_cast<std::uint64_t>(INT64_MAX)) return DecodeStatus::damaged;
    if (!decoded.media_type.assign(bytes.substr(descriptor_fixed_size))) {
        return DecodeStatus::damaged;
    }
    out = decoded;
    return DecodeStatus::ok;
}

DecodeStatus decode(std::string_view bytes, BlobLink& out) noexcept {
    if (bytes.empty()) return DecodeStatus::damaged;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (p[0] != record_version) return DecodeStatus::unknown_version;
    if (bytes.size() != link_size) return DecodeStatus::damaged;

    BlobLink decoded;
    switch (p[1]) {
        case static_cast<std::uint8_t>(LinkScope::public_access):
            decoded.scope = LinkScope::public_access;
            break;
        case static_cast<std::uint8_t>(LinkScope::credentialed):
            decoded.scope = LinkScope::credentialed;
            break;
        default:
            // An unknown scope must not be guessed into "public": that would serve a hit.
            return DecodeStatus::damaged;
    }
    decoded.stored_at = get_u64(p + 2);
    out = decoded;
    return DecodeStatus::ok;
}

}  // namespace registry_cache
