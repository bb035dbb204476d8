#include "registry_cache/descriptor.h"

#include "registry_cache/media_types.h"
#include "record_bytes.h"

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

// version(1) scope(1) size(8) stored_at(8) media_code(1), then when media_code is 0:
// media_type_length(1) media_type(n); otherwise the code names a known type.
constexpr std::size_t record_fixed_size = 1 + 1 + 8 + 8 + 1;

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
    assign_valid(text);
    return true;
}

void MediaType::assign_valid(std::string_view text) noexcept {
    std::memcpy(data_, text.data(), text.size());
    size_ = static_cast<std::uint8_t>(text.size());
}

namespace record_bytes {

void assign_decoded(MediaType& out, std::string_view text) noexcept { out.assign_valid(text); }

void put_u64(std::string& out, std::uint64_t v) {
    for (int shift = 0; shift < 64; shift += 8) {
        out.push_back(static_cast<char>(static_cast<unsigned char>((v >> shift) & 0xff)));
    }
}

std::uint64_t get_u64(const unsigned char* p) noexcept {
    std::uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | p[k];
    return v;
}

bool scope_of(unsigned char byte, LinkScope& scope) noexcept {
    switch (byte) {
        case static_cast<std::uint8_t>(LinkScope::public_access):
            scope = LinkScope::public_access;
            return true;
        case static_cast<std::uint8_t>(LinkScope::credentialed):
            scope = LinkScope::credentialed;
            return true;
        default:
            return false;
    }
}

void put_media_type(std::string& out, const MediaType& media_type) {
    const std::string_view text = media_type.view();
    const std::uint8_t code = known_media_type_code(text);
    out.push_back(static_cast<char>(code));
    if (code == 0) {
        // MediaType holds at most 255 bytes, so its length always fits the byte.
        out.push_back(static_cast<char>(static_cast<unsigned char>(text.size())));
        out.append(text.data(), text.size());
    }
}

DecodeStatus media_type_tail(std::string_view bytes, std::size_t at, std::string_view& text) noexcept {
    if (bytes.size() <= at) return DecodeStatus::damaged;
    const auto code = static_cast<std::uint8_t>(bytes[at]);
    if (code != 0) {
        if (bytes.size() != at + 1) return DecodeStatus::damaged;
        text = known_media_type(code);
        // Written by a build whose table is longer: readable only by it.
        return text.empty() ? DecodeStatus::unknown_version : DecodeStatus::ok;
    }
    if (bytes.size() < at + 2) return DecodeStatus::damaged;
    const std::size_t length = static_cast<unsigned char>(bytes[at + 1]);
    if (bytes.size() != at + 2 + length) return DecodeStatus::damaged;
    text = bytes.substr(at + 2);
    // A text that the table holds (written by a build whose table was shorter) is judged
    // like any other: no code path trusts bytes of the file.
    return is_valid_media_type(text) ? DecodeStatus::ok : DecodeStatus::damaged;
}

}  // namespace record_bytes

using record_bytes::get_u64;
using record_bytes::put_u64;

std::string encode(const LinkRecord& record) {
    std::string out;
    out.reserve(record_fixed_size + 1 + record.media_type.view().size());
    out.push_back(static_cast<char>(record_version));
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(record.scope)));
    put_u64(out, record.size);
    put_u64(out, record.stored_at);
    record_bytes::put_media_type(out, record.media_type);
    return out;
}

DecodeStatus decode(std::string_view bytes, LinkRecord& out) noexcept {
    if (bytes.empty()) return DecodeStatus::damaged;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    // The version decides the layout, so it is judged before the length.
    if (p[0] != record_version) return DecodeStatus::unknown_version;
    if (bytes.size() < record_fixed_size) return DecodeStatus::damaged;

    LinkScope scope;
    if (!record_bytes::scope_of(p[1], scope)) return DecodeStatus::damaged;
    const std::uint64_t size = get_u64(p + 2);
    // A size nginx cannot send as Content-Length (off_t) was never written by this code.
    if (size > static_cast<std::uint64_t>(INT64_MAX)) return DecodeStatus::damaged;

    // Judged before `out` is touched, so that a failed decode leaves it whole.
    std::string_view media_type;
    const DecodeStatus media = record_bytes::media_type_tail(bytes, record_fixed_size - 1, media_type);
    if (media != DecodeStatus::ok) return media;
    out.scope = scope;
    out.size = size;
    out.stored_at = get_u64(p + 10);
    // Copied straight into `out`: the hit path makes no second copy of the media type.
    record_bytes::assign_decoded(out.media_type, media_type);
    return DecodeStatus::ok;
}

}  // namespace registry_cache
