// Waiting for another's flight (flight_wait.h).
#include "process/flight_wait.h"
#include "process/poll.h"
#include "process/request_state.h"

void ngx_http_registry_cache_wait_for_flight(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                             ngx_http_registry_cache_flight_kind_t kind,
                                             ngx_http_event_handler_pt then) noexcept {
    ngx_http_registry_cache_count(state.cache->sh->flight_waits);
    // A request that waits again (its leader's client left, and another leads now) keeps the
    // deadline of its first wait: however often leaders leave, it waits no longer than that.
    if (state.flight.wait_until == 0) {
        state.flight.wait_until = ngx_current_msec + ngx_http_registry_cache_flight_timeout(kind);
    }
    // A reference of the wait's own, given back when `then` finalizes the request.
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = then;
    ngx_http_registry_cache_poll_later(r, state.flight.poll_ms);
}

ngx_http_registry_cache_request_t *ngx_http_registry_cache_flight_over(ngx_http_request_t *r,
                                                                      registry_cache::FlightState &flight) noexcept {
    if (ngx_http_registry_cache_woken_early(r)) return nullptr;
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return nullptr;
    }
    flight = ngx_http_registry_cache_look_flight(state->cache, state->flight.key);
    if (flight == registry_cache::FlightState::in_flight &&
        static_cast<ngx_msec_int_t>(state->flight.wait_until - ngx_current_msec) > 0)
    {
        ngx_http_registry_cache_poll_later(r, state->flight.poll_ms);
        return nullptr;
    }
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    return state;
}
