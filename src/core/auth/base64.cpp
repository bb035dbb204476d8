#include "registry_cache/auth/base64.h"

#include <cstdint>

namespace registry_cache::auth {

namespace {

constexpr std::string_view standard = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c, Base64 kind) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (kind == Base64::url_unpadded) {
        if (c == '-') return 62;
        if (c == '_') return 63;
    } else {
        if (c == '+') return 62;
        if (c == '/') return 63;
    }
    return -1;
}

}  // namespace

bool base64_decode(std::string_view in, Base64 kind, std::string& out) {
    out.clear();
    if (kind == Base64::standard_padded) {
        if (in.size() % 4 != 0) return false;
        std::size_t pad = 0;
        while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
        in.remove_suffix(pad);
        if ((in.size() + pad) % 4 != 0 || (pad > 0 && in.size() % 4 == 0)) return false;
    }
    if (in.size() % 4 == 1) return false;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = value_of(c, kind);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // The bits left over must be zero: "QR==" and "QQ==" may not both mean "A".
    return (acc & ((1u << bits) - 1)) == 0;
}

std::string base64_encode(std::string_view in, Base64 kind) {
    const std::string_view alphabet = kind == Base64::url_unpadded ? url : standard;
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 0x3F];
        }
    }
    if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3F];
    if (kind == Base64::standard_padded) {
        while (out.size() % 4 != 0) out += '=';
    }
    return out;
}

std::string base32_encode(std::string_view in) {
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    std::uint64_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += alphabet[(acc >> bits) & 0x1F];
        }
    }
    if (bits > 0) out += alphabet[(acc << (5 - bits)) & 0x1F];
    return out;
}

}  // namespace registry_cache::auth
