// A request that waits for another's flight (a miss's upstream answer, a revalidation): it
// polls the zone (process/poll.h) from its write event until the flight lands or its wait is
// over, and then goes on in the handler it waited with (flight_wait.cpp).
#pragma once

#include "process/flight.h"
#include "state/request.h"

#include <exception>

// `state` is the request's own, attached already. Its write event then calls `then`
// (an event handler: see ngx_http_registry_cache_safely) at each poll.
void ngx_http_registry_cache_wait_for_flight(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                             ngx_http_registry_cache_flight_kind_t kind,
                                             ngx_http_event_handler_pt then) noexcept;

// At a waiting request's poll: its state, and the flight's outcome, once the flight has
// landed or the wait is over (the request then waits no more); null while it waits on, or
// when it was finalized here.
ngx_http_registry_cache_request_t *ngx_http_registry_cache_flight_over(ngx_http_request_t *r,
                                                                      registry_cache::FlightState &flight) noexcept;

// An event handler of a waiting request, which nginx calls outside any try: what `handler`
// throws finalizes the request with a 500.
template <void (*handler)(ngx_http_request_t *)>
void ngx_http_registry_cache_safely(ngx_http_request_t *r) noexcept {
    try {
        handler(r);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}
