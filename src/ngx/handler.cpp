// The content-phase handler: parse the route, refuse what is invalid, answer a cached HEAD
// of a blob, and pass everything else on to where the operator's proxy_pass lives.
#include "ngx_registry_cache.h"

#include <string>
#include <string_view>

namespace {

using registry_cache::LookupStatus;
using registry_cache::Method;
using registry_cache::Route;
using registry_cache::RouteError;
using registry_cache::RouteKind;
using status_t = ngx_http_registry_cache_status_t;

// The path as the client sent it, which is what proxy_pass forwards too (without a URI
// part it sends the unparsed URI). Once nginx itself rewrote the URI, the upstream gets
// the rewritten one, so that is what must be judged.
std::string_view request_path(const ngx_http_request_t *r) noexcept {
    if (r->valid_unparsed_uri) {
        return registry_cache::strip_query(ngx_http_registry_cache_view(r->unparsed_uri));
    }
    return ngx_http_registry_cache_view(r->uri);
}

Method method_of(const ngx_http_request_t *r) noexcept {
    switch (r->method) {
        case NGX_HTTP_HEAD: return Method::head;
        case NGX_HTTP_GET: return Method::get;
        case NGX_HTTP_DELETE: return Method::del;
        default: return Method::other;
    }
}

bool is_cacheable_blob(const Route &route) noexcept {
    return route.kind == RouteKind::blob && route.by_digest &&
           registry_cache::is_cacheable(route.digest.algorithm);
}

// Hands the request, untouched (method, headers, body not yet read), to the location that
// holds the proxy_pass; the upstream's answer streams back through it.
ngx_int_t pass(ngx_http_request_t *r, ngx_str_t &target) noexcept {
    if (target.data[0] == '@') {
        return ngx_http_named_location(r, &target);
    }
    return ngx_http_internal_redirect(r, &target, &r->args);
}

// Looks a HEAD of a blob up and says what $registry_cache_status will say; on a hit,
// `found` holds the descriptor to answer with.
status_t look_up(ngx_http_request_t *r, ngx_http_registry_cache_t *cache,
                 ngx_http_registry_cache_request_t &state, registry_cache::LookupResult &found) {
    auto &sh = *cache->sh;
    ngx_http_registry_cache_count(sh.lookups);

    registry_cache::Store *store = cache->worker ? cache->worker->store.get() : nullptr;
    std::string error;
    if (store == nullptr) {
        found.status = LookupStatus::error;
        error = "the store is not open";
    } else {
        found = store->lookup(state.route.name, state.route.digest, &error);
    }

    switch (found.status) {
        case LookupStatus::hit:
            // Only what the upstream gave without credentials is anyone's to see.
            if (found.link.scope == registry_cache::LinkScope::public_access) {
                ngx_http_registry_cache_count(sh.hits);
                return status_t::hit;
            }
            break;
        case LookupStatus::miss:
            break;
        case LookupStatus::error:
            // Seed semantics: serve from the upstream and write nothing back, so that a
            // sick store is not also loaded with writes.
            ngx_http_registry_cache_count(sh.errors);
            ngx_http_registry_cache_log_store_error(cache, r->connection->log, "lookup", error);
            state.may_record = false;
            return status_t::error;
    }
    ngx_http_registry_cache_count(sh.misses);
    return status_t::miss;
}

ngx_int_t handle(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf) {
    auto *cache = static_cast<ngx_http_registry_cache_t *>(rlcf->shm_zone->data);

    // A request that comes back here (an error_page pointing into /v2/, say) was counted
    // and judged the first time; a subrequest shares its parent's pool, where the state
    // lives, and must neither find nor leave any: both are just passed on.
    if (r != r->main || ngx_http_registry_cache_find_state(r) != nullptr) {
        return pass(r, rlcf->pass);
    }

    Route route = registry_cache::parse_route(request_path(r));
    if (route.error != RouteError::none) {
        ngx_http_registry_cache_count(cache->sh->refused);
        // The request line is in the log context already; the message says what was wrong.
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "registry cache: %s",
                      route.error == RouteError::name_invalid ? "invalid repository name"
                                                              : "invalid digest");
        return ngx_http_registry_cache_send_error(r, route.error);
    }

    ngx_http_registry_cache_request_t judged{};
    judged.cache = cache;
    judged.route = route;
    judged.method = method_of(r);
    judged.credentialed = r->headers_in.authorization != nullptr;
    judged.may_record = true;
    judged.verify_on = rlcf->verify != 0;

    // A HEAD with Range is the upstream's to answer (206 and Content-Range).
    if (judged.method == Method::head && is_cacheable_blob(route) && r->headers_in.range == nullptr) {
        registry_cache::LookupResult found;
        judged.status = look_up(r, cache, judged, found);
        if (judged.status == status_t::hit) {
            // Answered here: no redirect follows, so r->ctx is enough to keep the state.
            if (ngx_http_registry_cache_attach_state(r, judged, false) == nullptr) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            return ngx_http_registry_cache_send_hit(r, route, found.descriptor);
        }
    } else {
        ngx_http_registry_cache_count(cache->sh->bypasses);
        judged.status = status_t::bypass;
    }
    if (ngx_http_registry_cache_attach_state(r, judged, true) == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return pass(r, rlcf->pass);
}

}  // namespace

ngx_int_t ngx_http_registry_cache_handler(ngx_http_request_t *r) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    if (rlcf->shm_zone == nullptr) {
        return NGX_DECLINED;
    }
    // The cache passes requests to named locations; it never handles one itself, which
    // would loop when that location inherits `registry_cache` and has no content handler.
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    if (clcf->named) {
        return NGX_DECLINED;
    }
    try {
        return handle(r, rlcf);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: %s", e.what());
    } catch (...) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: unknown exception");
    }
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
