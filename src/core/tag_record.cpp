#include "registry_cache/tag_record.h"

#include "registry_cache/keys.h"
#include "record_bytes.h"

namespace registry_cache {
namespace {

// version(1) scope(1) flags(1) stored_at(8) size(8), then the digest as the store keys it:
// its algorithm byte and bytes (content_key), then the media type. Version 1 had neither
// flags nor size.
constexpr std::size_t stored_at_v1 = 1 + 1;
constexpr std::size_t stored_at_v2 = 1 + 1 + 1;
constexpr unsigned char named_list_flag = 1;

std::size_t digest_bytes(unsigned char algorithm) noexcept {
    switch (algorithm) {
        case 1: return 32;
        case 2: return 48;
        case 3: return 64;
        default: return 0;
    }
}

}  // namespace

bool DigestText::assign(std::string_view text) noexcept {
    const DigestParse parsed = parse_digest(text);
    if (parsed.status != DigestStatus::ok || !is_cacheable(parsed.digest.algorithm) ||
        text.size() > sizeof data_) {
        size_ = 0;
        return false;
    }
    text.copy(data_, text.size());
    size_ = static_cast<std::uint8_t>(text.size());
    return true;
}

std::string encode(const TagRecord& record) {
    const DigestParse parsed = parse_digest(record.digest.view());
    const Key digest = parsed.status == DigestStatus::ok ? content_key(parsed.digest) : Key{};
    if (digest.empty()) return {};
    std::string out;
    out.reserve(stored_at_v2 + 16 + digest.view().size() + 2 + record.media_type.view().size());
    out.push_back(static_cast<char>(tag_record_version));
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(record.scope)));
    out.push_back(static_cast<char>(record.learned_naming_list ? named_list_flag : 0));
    record_bytes::put_u64(out, record.stored_at);
    record_bytes::put_u64(out, record.size);
    out.append(digest.view().data(), digest.view().size());
    record_bytes::put_media_type(out, record.media_type);
    return out;
}

DecodeStatus decode(std::string_view bytes, TagRecord& out) noexcept {
    if (bytes.empty()) return DecodeStatus::damaged;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (p[0] != 1 && p[0] != tag_record_version) return DecodeStatus::unknown_version;
    const std::size_t stored_at = p[0] == 1 ? stored_at_v1 : stored_at_v2;
    const std::size_t digest_at = stored_at + (p[0] == 1 ? 8 : 16);
    if (bytes.size() < digest_at + 1) return DecodeStatus::damaged;
    LinkScope scope;
    if (!record_bytes::scope_of(p[1], scope)) return DecodeStatus::damaged;
    const unsigned char flags = p[0] == 1 ? 0 : p[2];
    if ((flags & ~named_list_flag) != 0) return DecodeStatus::unknown_version;
    const std::size_t length = digest_bytes(p[digest_at]);
    if (length == 0) return DecodeStatus::damaged;
    const std::size_t media_at = digest_at + 1 + length;
    std::string_view media_type;
    const DecodeStatus media = record_bytes::media_type_tail(bytes, media_at, media_type);
    if (media != DecodeStatus::ok) return media;

    const std::size_t text = digest_text_of_content_key(bytes.substr(digest_at, 1 + length), out.digest.data_);
    if (text == 0) return DecodeStatus::damaged;
    out.digest.size_ = static_cast<std::uint8_t>(text);
    out.scope = scope;
    out.learned_naming_list = (flags & named_list_flag) != 0;
    out.stored_at = record_bytes::get_u64(p + stored_at);
    out.size = p[0] == 1 ? 0 : record_bytes::get_u64(p + stored_at + 8);
    record_bytes::assign_decoded(out.media_type, media_type);
    return DecodeStatus::ok;
}

}  // namespace registry_cache
