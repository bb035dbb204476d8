// Any bytes as a stored record (a damaged cache file): decoding must not crash, and a record
// that decodes is exactly what encoding its contents writes back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry_cache/descriptor.h"

using namespace registry_cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    LinkRecord r;
    if (decode(input, r) == DecodeStatus::ok && encode(r) != input) std::abort();
    return 0;
}
