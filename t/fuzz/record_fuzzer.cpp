// Any bytes as a stored record (a damaged cache file): decoding must not crash, and a record
// that decodes is what encoding its contents writes back: the same bytes, but for a media
// type of the known table written as text (by a build whose table did not have it yet),
// which is read as the same record and written back by its code. The same bytes as the
// upstream's answer to a ping: one that decodes is written back byte for byte, and is
// replayable (no byte of it could break a response).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"
#include "registry_cache/media_types.h"
#include "registry_cache/ping_record.h"

using namespace registry_cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    PingRecord ping;
    if (decode(input, ping) == DecodeStatus::ok &&
        (encode(ping) != input ||
         !is_replayable_ping(ping.status, ping.www_authenticate, ping.api_version))) {
        std::abort();
    }
    LinkRecord r;
    if (decode(input, r) != DecodeStatus::ok) return 0;
    const std::string again = encode(r);
    const bool known_as_text = input.size() > 18 && input[18] == '\0' &&
                               known_media_type_code(r.media_type.view()) != 0;
    if (!known_as_text && again != input) std::abort();
    LinkRecord back;
    if (decode(again, back) != DecodeStatus::ok || back.scope != r.scope || back.size != r.size ||
        back.stored_at != r.stored_at || back.media_type.view() != r.media_type.view()) {
        std::abort();
    }
    return 0;
}
