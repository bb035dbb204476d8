// What the upstream last answered an anonymous `GET /v2/` (a client's first request, its
// "ping": 200, or 401 with the challenge that says where tokens come from), kept so that the
// edge can replay it when the upstream fails (registry_cache_use_stale): without it, a
// client's pull of an image the cache holds ends at its first request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"

namespace registry_cache {

struct PingRecord {
    int status = 0;                // 200 or 401
    std::uint64_t stored_at = 0;   // unix seconds when the upstream said it
    std::string www_authenticate;  // the challenge of a 401; empty for none
    std::string api_version;       // Docker-Distribution-Api-Version; empty for none
};

inline constexpr std::size_t max_ping_challenge = 1024;
// The upstream's answer may name the host it was asked by (a realm built from Host): answers
// are kept per Host, for this many Hosts at the most (a client can send any Host; those
// after the first are not kept).
inline constexpr std::size_t max_ping_hosts = 16;
inline constexpr std::size_t max_ping_host = 255;

// A Host a ping record may be kept under: lowercase letters, digits, '.', '-', ':', '[', ']'
// (a name or an address, with a port), at most max_ping_host bytes, not empty; in an
// upstream's namespace (in_namespace()) or not.
bool is_ping_host(std::string_view host) noexcept;
inline constexpr std::size_t max_ping_api_version = 64;

// Whether an answer may be kept and replayed: a 200 or a 401 (nothing else says the registry
// is there), with header values of printable ASCII within the bounds above (a replayed value
// is written into a response as it is: no CR, LF or other control bytes).
bool is_replayable_ping(int status, std::string_view www_authenticate,
                        std::string_view api_version) noexcept;

// Whether two answers say the same to a client (stored_at aside): the same one need not be
// written again.
bool same_answer(const PingRecord& a, const PingRecord& b) noexcept;

inline constexpr std::uint8_t ping_record_version = 1;

// version(1) status(2) stored_at(8) challenge_length(2) challenge api_version_length(1)
// api_version. Empty when the record is not replayable.
std::string encode(const PingRecord& record);
// As decode(LinkRecord): `out` untouched unless ok; a record that is not replayable reads as
// damaged.
DecodeStatus decode(std::string_view bytes, PingRecord& out);

}  // namespace registry_cache
