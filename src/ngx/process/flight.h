// Single flight across the workers (flight.cpp): the table lives in the cache's shared zone.
#pragma once

#include "state/conf.h"

#include <cstdint>

#include "registry_cache/flight.h"

registry_cache::Claim ngx_http_registry_cache_claim_flight(ngx_http_registry_cache_t *cache,
                                                           std::uint64_t key) noexcept;
registry_cache::FlightState ngx_http_registry_cache_look_flight(ngx_http_registry_cache_t *cache,
                                                                std::uint64_t key) noexcept;
void ngx_http_registry_cache_land_flight(ngx_http_registry_cache_t *cache, std::uint64_t key,
                                         bool recorded) noexcept;
ngx_msec_t ngx_http_registry_cache_flight_timeout() noexcept;
