// Any bytes as a media type: what is accepted is echoed as Content-Type, so it must be short
// and free of control and non-ASCII bytes; MediaType keeps exactly what it accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry_cache/descriptor.h"

using namespace registry_cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    bool valid = is_valid_media_type(input);
    MediaType m;
    if (m.assign(input) != valid) std::abort();
    if (!valid) return 0;
    if (input.size() > max_media_type_length || m.view() != input) std::abort();
    for (unsigned char c : input) {
        if (c < 0x20 || c >= 0x7f) std::abort();
    }
    return 0;
}
