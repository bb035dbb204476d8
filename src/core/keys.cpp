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

}  // namespace

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
    if (!is_valid_name(repository) || !is_cacheable_digest(digest)) return key;
    // NUL occurs in neither a valid name nor a digest, so the split is unambiguous (no name
    // can be a prefix trick on another's keys) and one repository's links sort together.
    if (!key.append(repository) || !key.append(std::string_view("\0", 1)) ||
        !key.append(digest.algorithm_name) || !key.append(":") || !key.append(digest.encoded)) {
        return Key{};
    }
    return key;
}

}  // namespace registry_cache
