// Any bytes as a digest: parse_digest must not crash; an accepted digest of a known algorithm
// is lowercase hex of its length, and its key is exactly its text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry_cache/digest.h"
#include "registry_cache/keys.h"

using namespace registry_cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    DigestParse p = parse_digest(input);
    if (p.status != DigestStatus::ok) return 0;
    if (is_cacheable(p.digest.algorithm)) {
        if (p.digest.encoded.size() != encoded_hex_length(p.digest.algorithm)) std::abort();
        for (char c : p.digest.encoded) {
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
        }
        if (descriptor_key(p.digest).view() != input) std::abort();
    } else if (!descriptor_key(p.digest).empty()) {
        std::abort();
    }
    return 0;
}
