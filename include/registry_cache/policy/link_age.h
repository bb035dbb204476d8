// registry_cache_link_ttl: a link (a blob or a manifest known in a repository) older than
// the TTL is not answered from the cache until the upstream confirms it again, so that a
// repository made private, or an object deleted upstream, stops being served within the TTL
// without waiting for eviction.
#pragma once

#include <cstdint>

namespace registry_cache {

// How far ahead of the clock a link's time may be and still count as just learned (clocks
// of two workers' moments, a small step back); further ahead, the clock was set back, and
// the link must be confirmed again rather than live on until the clock catches up.
inline constexpr std::uint64_t link_clock_slack = 300;

// Whether a link learned at `stored_at` must be confirmed again at `now` (seconds since the
// epoch); `ttl` 0: never.
constexpr bool link_expired(std::uint64_t stored_at, std::uint64_t now, std::uint64_t ttl) noexcept {
    if (ttl == 0) return false;
    if (stored_at > now) return stored_at - now > link_clock_slack;
    return now - stored_at >= ttl;
}

}  // namespace registry_cache
