// Single flight across workers (registry_cache/flight.h): the table lives in the cache's
// shared zone, under the zone's own lock, held only for a scan of flight_probe slots.
#include "process/flight.h"
#include "state/zone_lock.h"

namespace {

// How long followers wait for a leader before asking the upstream themselves, and how long a
// landed outcome stays visible to followers that have not polled yet.
constexpr std::int64_t flight_timeout_s = 5;
// A body's leader is transferring it; a leader whose client left, or whose upstream failed,
// lands its flight at once and its followers go upstream then, so this bounds only a
// transfer that goes on (its followers would wait as long for their own).
constexpr std::int64_t body_flight_timeout_s = 120;

std::int64_t timeout_of(ngx_http_registry_cache_flight_kind_t kind) noexcept {
    return kind == ngx_http_registry_cache_flight_kind_t::body ? body_flight_timeout_s : flight_timeout_s;
}
constexpr std::int64_t flight_linger_s = 2;

}  // namespace

registry_cache::Claimed ngx_http_registry_cache_claim_flight(ngx_http_registry_cache_t *cache, std::uint64_t key,
                                                             ngx_http_registry_cache_flight_kind_t kind) noexcept {
    ngx_http_registry_cache_zone_lock lock(cache);
    return registry_cache::claim(cache->sh->flights, key, ngx_time(), timeout_of(kind));
}

registry_cache::FlightState ngx_http_registry_cache_look_flight(ngx_http_registry_cache_t *cache,
                                                                std::uint64_t key) noexcept {
    ngx_http_registry_cache_zone_lock lock(cache);
    return registry_cache::look(cache->sh->flights, key, ngx_time());
}

void ngx_http_registry_cache_land_flight(ngx_http_registry_cache_t *cache, registry_cache::FlightLead flight,
                                         registry_cache::FlightState outcome) noexcept {
    ngx_http_registry_cache_zone_lock lock(cache);
    registry_cache::land(cache->sh->flights, flight.key, flight.lead, outcome, ngx_time(), flight_linger_s);
}

ngx_msec_t ngx_http_registry_cache_flight_timeout(ngx_http_registry_cache_flight_kind_t kind) noexcept {
    return static_cast<ngx_msec_t>(timeout_of(kind)) * 1000;
}
