// registry_cache_link_ttl: a link (a blob or a manifest known in a repository) older than
// the TTL is not answered from the cache until the upstream confirms it again, so that a
// repository made private, or an object deleted upstream, stops being served within the TTL
// without waiting for eviction.
#pragma once

#include <cstdint>

namespace registry_cache {

// Whether a link learned at `stored_at` must be confirmed again at `now` (seconds since the
// epoch); `ttl` 0: never. A time ahead of the clock (another host's, a clock set back) counts
// as just learned.
constexpr bool link_expired(std::uint64_t stored_at, std::uint64_t now, std::uint64_t ttl) noexcept {
    return ttl != 0 && now >= stored_at && now - stored_at >= ttl;
}

}  // namespace registry_cache
