// Single flight across the workers (flight.cpp): the table lives in the cache's shared zone.
#pragma once

#include "state/conf.h"

#include <cstdint>

#include "registry_cache/flight.h"

// What a flight is for: a blob's descriptor (a HEAD: an answer within a round trip) or its
// body (a GET: as long as the transfer, which may take minutes on a slow uplink).
enum class ngx_http_registry_cache_flight_kind_t { descriptor, body };

registry_cache::Claimed ngx_http_registry_cache_claim_flight(
    ngx_http_registry_cache_t *cache, std::uint64_t key,
    ngx_http_registry_cache_flight_kind_t kind = ngx_http_registry_cache_flight_kind_t::descriptor) noexcept;
registry_cache::FlightState ngx_http_registry_cache_look_flight(ngx_http_registry_cache_t *cache,
                                                                std::uint64_t key) noexcept;
// `outcome`: recorded, not_recorded or abandoned (registry_cache/flight.h). A flight no longer
// led by `flight.lead` (expired and claimed again) is left as it is.
void ngx_http_registry_cache_land_flight(ngx_http_registry_cache_t *cache, registry_cache::FlightLead flight,
                                         registry_cache::FlightState outcome) noexcept;
// How long followers wait for the leader before they ask the upstream themselves.
ngx_msec_t ngx_http_registry_cache_flight_timeout(
    ngx_http_registry_cache_flight_kind_t kind = ngx_http_registry_cache_flight_kind_t::descriptor) noexcept;
