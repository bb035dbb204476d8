// Request state that outlives internal redirects. ngx_http_named_location() and
// ngx_http_internal_redirect() zero r->ctx, yet the header filter must know, when the
// upstream answers, what the handler asked for. So the state lives in a cleanup entry of
// the request pool (found again by its handler, as ngx_http_realip_module does), with
// r->ctx as a shortcut until a redirect clears it.
#include "process/request_state.h"
#include "process/flight.h"

#include <new>

namespace {

// Marks our entry, and lands a flight its leader did not (nothing learned, upstream failed,
// client gone): followers must not wait for an answer that will never be recorded.
void state_marker(void *data) noexcept {
    ngx_http_registry_cache_abandon_flight(*static_cast<ngx_http_registry_cache_request_t *>(data));
}

}  // namespace

ngx_http_registry_cache_request_t *ngx_http_registry_cache_attach_state(
    ngx_http_request_t *r, const ngx_http_registry_cache_request_t &judged,
    bool across_redirects) noexcept {
    void *memory;
    if (across_redirects) {
        ngx_pool_cleanup_t *cln =
            ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_registry_cache_request_t));
        if (cln == nullptr) {
            return nullptr;
        }
        cln->handler = state_marker;
        memory = cln->data;
    } else {
        memory = ngx_palloc(r->pool, sizeof(ngx_http_registry_cache_request_t));
        if (memory == nullptr) {
            return nullptr;
        }
    }
    auto *state = new (memory) ngx_http_registry_cache_request_t(judged);
    ngx_http_set_ctx(r, state, ngx_http_registry_cache_module);
    return state;
}

ngx_http_registry_cache_request_t *ngx_http_registry_cache_find_state(ngx_http_request_t *r) noexcept {
    // Subrequests share the main request's pool: only the main request owns the state.
    if (r != r->main) {
        return nullptr;
    }
    auto *state = static_cast<ngx_http_registry_cache_request_t *>(
        ngx_http_get_module_ctx(r, ngx_http_registry_cache_module));
    if (state != nullptr) {
        return state;
    }
    for (ngx_pool_cleanup_t *cln = r->pool->cleanup; cln != nullptr; cln = cln->next) {
        if (cln->handler == state_marker) {
            state = static_cast<ngx_http_registry_cache_request_t *>(cln->data);
            ngx_http_set_ctx(r, state, ngx_http_registry_cache_module);
            return state;
        }
    }
    return nullptr;
}

void ngx_http_registry_cache_abandon_flight(ngx_http_registry_cache_request_t &state) noexcept {
    if (state.flight.lead != 0 && !state.flight.landed) {
        // At the request's end the connection is still there (nginx frees the request, then
        // closes it): a client that left or timed out took the question with it, and another
        // asks it again; anything else leaves each follower to ask for itself. A connection
        // the module closed itself (a body refused: may_record is off) is no client gone:
        // another would only fetch the same refused body, one follower at a time.
        const ngx_connection_t *c = state.flight.client;
        const bool gone = c != nullptr && (c->error || c->timedout) && state.lookup.may_record;
        ngx_http_registry_cache_land_flight(
            state.cache, {state.flight.key, state.flight.lead},
            gone ? registry_cache::FlightState::abandoned : registry_cache::FlightState::not_recorded);
    }
    state.flight.key = 0;
    state.flight.lead = 0;
    state.flight.client = nullptr;
    state.flight.landed = false;
}
