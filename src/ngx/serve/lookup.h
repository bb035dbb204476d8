// What the handler and its answers from the store share (lookup.cpp, body_answer.cpp): a
// read of the store for the request's route and what it makes of the request, what the
// request carries, and a blob's body answered from the store's disk.
#pragma once

#include "serve/serve.h"
#include "process/process.h"
#include "process/upstream_namespace.h"
#include "state/request.h"

#include <string>

#include "registry_cache/policy/link_age.h"
#include "registry_cache/store.h"

// What a read of the store makes of a request: hit (servable to anyone: only what the
// upstream gave without credentials is), miss, or error (logged, counted; nothing is then
// written back, so that a sick store is not also loaded with writes).
ngx_http_registry_cache_status_t ngx_http_registry_cache_judge_read(
    ngx_http_request_t *r, ngx_http_registry_cache_request_t &state, registry_cache::LookupStatus found,
    registry_cache::LinkScope scope, const std::string &error) noexcept;

// Reads the store with `lookup` (a member of Store) for the route's repository (in its
// upstream's namespace, then with its Host) and digest; a hit is then where the request's
// lessons go.
template <typename Found, typename Lookup>
ngx_http_registry_cache_status_t ngx_http_registry_cache_read_with(ngx_http_request_t *r,
                                                                   ngx_http_registry_cache_request_t &state,
                                                                   Found &found, Lookup lookup) {
    registry_cache::Store *store = state.cache->worker ? state.cache->worker->store.get() : nullptr;
    std::string error;
    if (store == nullptr) {
        found.status = registry_cache::LookupStatus::error;
        error = "the store is not open";
    } else {
        found = (store->*lookup)(state.asked.store_name, state.asked.route.digest, &error);
        // What was learned with this client's Host forwarded is kept under it.
        if (found.status == registry_cache::LookupStatus::miss) {
            const std::string_view hosted = ngx_http_registry_cache_hosted_name(r, state);
            if (!hosted.empty()) {
                found = (store->*lookup)(hosted, state.asked.route.digest, &error);
                if (found.status == registry_cache::LookupStatus::hit) state.asked.store_name = hosted;
            }
        }
    }
    const ngx_http_registry_cache_status_t judged =
        ngx_http_registry_cache_judge_read(r, state, found.status, found.link.scope, error);
    // Past registry_cache_link_ttl: the upstream confirms it again, as a miss does.
    if (judged == ngx_http_registry_cache_status_t::hit &&
        registry_cache::link_expired(found.link.stored_at, static_cast<std::uint64_t>(ngx_time()),
                                     static_cast<std::uint64_t>(state.lookup.link_ttl))) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "registry cache: link older than registry_cache_link_ttl: confirmed upstream again");
        state.lookup.expired = true;
        return ngx_http_registry_cache_status_t::miss;
    }
    return judged;
}

// Whether the request carries anything that can tell the upstream who is asking: then what
// the upstream answers may be for that client only (the rule is the core's).
// `push`: the request is a push, whose own query parameters name objects, not clients.
bool ngx_http_registry_cache_carries_credentials(ngx_http_request_t *r, bool push = false) noexcept;

// A request that declares a body: it can hold its connection for as long as the client
// takes to send it (or never does), so it never leads a flight others wait on, nor goes
// upstream in a subrequest of ours.
bool ngx_http_registry_cache_declares_body(const ngx_http_request_t *r) noexcept;

// Answers a GET of a blob from the store's disk when its link is servable and its file is
// whole and, where the location verifies, proven to hash to its name before it is sent;
// NGX_DECLINED, with nothing sent, when it cannot; NGX_DONE while a thread proves it (the
// request then goes on by itself: answered, or ngx_http_registry_cache_body_miss()). `state`
// is attached to the request (body_answer.cpp).
ngx_int_t ngx_http_registry_cache_answer_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                              const registry_cache::BodyLookup &found);
// A GET of a blob that the store's disk did not answer after all: a miss, as if it had never
// been kept (handler.cpp).
ngx_int_t ngx_http_registry_cache_body_miss(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state);
