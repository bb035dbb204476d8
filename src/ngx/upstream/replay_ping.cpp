// A client's pull starts with a ping (GET /v2/): a registry that answers it neither 200 nor
// 401 is, to the client, not there, and the pull ends before it asks for anything the cache
// holds. When the upstream fails as registry_cache_use_stale allows, its last answer to an
// anonymous ping (learn_filter.cpp keeps it in the store) is replayed: the status, the
// challenge that says where tokens come from, the API version, and the body distribution
// sends with them.
#include "upstream/upstream.h"
#include "process/process.h"
#include "process/writer.h"
#include "reply/headers.h"

#include <string>

#include "registry_cache/oci_error.h"
#include "registry_cache/ping_record.h"
#include "registry_cache/upstream_namespace.h"
#include "registry_cache/policy/stale.h"

namespace {

ngx_str_t www_authenticate_key = ngx_string("WWW-Authenticate");
ngx_str_t api_version_key = ngx_string("Docker-Distribution-Api-Version");
ngx_str_t nosniff_key = ngx_string("X-Content-Type-Options");
ngx_str_t nosniff = ngx_string("nosniff");

bool is_ping(const ngx_http_registry_cache_request_t &state) noexcept {
    return state.asked.route.error == registry_cache::RouteError::none &&
           state.asked.route.kind == registry_cache::RouteKind::base &&
           (state.asked.method == registry_cache::Method::get || state.asked.method == registry_cache::Method::head);
}

// Adds `value` under `key` unless it is empty; the value is copied into the request's pool.
bool add_copied(ngx_http_request_t *r, ngx_str_t &key, const std::string &value) noexcept {
    if (value.empty()) {
        return true;
    }
    ngx_str_t copy;
    return ngx_http_registry_cache_pool_copy(r->pool, value, copy) && ngx_http_registry_cache_add_header(r, key, copy);
}

ngx_int_t replay(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    ngx_http_registry_cache_worker_t *w = state.cache->worker;
    if (w == nullptr || w->store == nullptr) {
        return NGX_DECLINED;
    }
    registry_cache::PingRecord held;
    std::string error;
    const registry_cache::LookupStatus found =
        w->store->lookup_ping(registry_cache::in_namespace(state.asked.upstream_namespace,
                                                           ngx_http_registry_cache_view(r->headers_in.server)),
                              held, &error);
    if (found != registry_cache::LookupStatus::hit) {
        if (found == registry_cache::LookupStatus::error) {
            ngx_http_registry_cache_count(state.cache->sh->errors);
            ngx_http_registry_cache_log_store_error(state.cache, r->connection->log, "reading the upstream's ping",
                                                    error);
        }
        return NGX_DECLINED;
    }
    const std::string body = held.status == NGX_HTTP_UNAUTHORIZED
                                 ? registry_cache::render_error_body(registry_cache::OciErrorCode::unauthorized)
                                 : std::string("{}");
    if (!ngx_http_registry_cache_replace_response(r, state, static_cast<ngx_uint_t>(held.status), body) ||
        !add_copied(r, www_authenticate_key, held.www_authenticate) ||
        !add_copied(r, api_version_key, held.api_version) || !ngx_http_registry_cache_add_header(r, nosniff_key, nosniff))
    {
        return NGX_ERROR;
    }
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "registry cache: the upstream failed the ping (%ui): replayed its last answer (%d)",
                  r->upstream->headers_in.status_n, held.status);
    state.lookup.status = ngx_http_registry_cache_status_t::stale;
    state.lookup.may_record = false;
    ngx_http_registry_cache_count(state.cache->sh->stale);
    return NGX_OK;
}

}  // namespace

ngx_int_t ngx_http_registry_cache_replay_ping(ngx_http_request_t *r,
                                              ngx_http_registry_cache_request_t &state) noexcept {
    if (!is_ping(state)) {
        return NGX_DECLINED;
    }
    // What goes out must be the upstream's answer (not an error_page's), or nginx's own 502
    // or 504 for an exchange that failed (policy/stale.h).
    registry_cache::UpstreamOutcome outcome;
    if (!registry_cache::outcome_of(static_cast<int>(r->upstream->headers_in.status_n),
                                    static_cast<int>(r->headers_out.status), outcome) ||
        !registry_cache::may_serve_stale(static_cast<unsigned>(state.use_stale), outcome)) {
        return NGX_DECLINED;
    }
    try {
        return replay(r, state);
    } catch (...) {
        return NGX_ERROR;  // out of memory
    }
}
