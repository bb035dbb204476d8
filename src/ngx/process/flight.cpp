// Single flight across workers (registry_cache/flight.h): the table lives in the cache's
// shared zone, under the zone's own lock, held only for a scan of 64 slots.
#include "process/flight.h"

namespace {

// How long followers wait for a leader before asking the upstream themselves, and how long a
// landed outcome stays visible to followers that have not polled yet.
constexpr std::int64_t flight_timeout_s = 5;
constexpr std::int64_t flight_linger_s = 2;

class ZoneLock {
public:
    explicit ZoneLock(ngx_http_registry_cache_t *cache) noexcept
        : pool_(reinterpret_cast<ngx_slab_pool_t *>(cache->shm_zone->shm.addr)) {
        ngx_shmtx_lock(&pool_->mutex);
    }
    ~ZoneLock() { ngx_shmtx_unlock(&pool_->mutex); }
    ZoneLock(const ZoneLock &) = delete;
    ZoneLock &operator=(const ZoneLock &) = delete;

private:
    ngx_slab_pool_t *pool_;
};

}  // namespace

registry_cache::Claim ngx_http_registry_cache_claim_flight(ngx_http_registry_cache_t *cache,
                                                           std::uint64_t key) noexcept {
    ZoneLock lock(cache);
    return registry_cache::claim(cache->sh->flights, key, static_cast<std::int32_t>(ngx_pid),
                                 ngx_time(), flight_timeout_s);
}

registry_cache::FlightState ngx_http_registry_cache_look_flight(ngx_http_registry_cache_t *cache,
                                                                std::uint64_t key) noexcept {
    ZoneLock lock(cache);
    return registry_cache::look(cache->sh->flights, key, ngx_time());
}

void ngx_http_registry_cache_land_flight(ngx_http_registry_cache_t *cache, std::uint64_t key,
                                         bool recorded) noexcept {
    ZoneLock lock(cache);
    registry_cache::land(cache->sh->flights, key, static_cast<std::int32_t>(ngx_pid), recorded,
                         ngx_time(), flight_linger_s);
}

ngx_msec_t ngx_http_registry_cache_flight_timeout() noexcept {
    return static_cast<ngx_msec_t>(flight_timeout_s) * 1000;
}
