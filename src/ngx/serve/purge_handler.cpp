// registry_cache_purge: an operator's DELETE of what the cache holds (purge.h), answered with
// what went. It reaches the store directly, in one write transaction, and the bodies' files
// after it committed; nothing upstream is asked or told.
#include "serve/serve.h"
#include "process/process.h"
#include "process/upstream_namespace.h"
#include "reply/headers.h"

#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/blobs/blob_files.h"
#include "registry_cache/purge.h"
#include "registry_cache/store.h"

namespace {

ngx_str_t json = ngx_string("application/json; charset=utf-8");

ngx_int_t answer(ngx_http_request_t *r, ngx_uint_t status, const std::string &body) {
    r->headers_out.status = status;
    return ngx_http_registry_cache_send_body(r, json, body.data(), body.size());
}

ngx_int_t purge(ngx_http_request_t *r) {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    if (r->method != NGX_HTTP_DELETE) {
        static ngx_str_t allow_key = ngx_string("Allow");
        static ngx_str_t allow = ngx_string("DELETE");
        if (!ngx_http_registry_cache_add_header(r, allow_key, allow)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_HTTP_NOT_ALLOWED;
    }
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) return rc;
    auto *cache = static_cast<ngx_http_registry_cache_t *>(rlcf->shm_zone->data);

    // The path as the client sent it, past the location's prefix (nothing decoded: a name or
    // digest with '%' in it is invalid, as on /v2/).
    std::string_view path = registry_cache::strip_query(ngx_http_registry_cache_view(r->unparsed_uri));
    const std::string_view prefix = ngx_http_registry_cache_view(clcf->name);
    path = path.substr(0, prefix.size()) == prefix ? path.substr(prefix.size()) : std::string_view{};
    registry_cache::PurgeTarget target;
    const registry_cache::RouteError invalid = registry_cache::parse_purge(path, target);
    if (invalid != registry_cache::RouteError::none) return ngx_http_registry_cache_send_error(r, invalid);

    // The namespace the location names (its registry_cache_namespace), and in it the
    // repository as kept for the one upstream and as kept with this request's Host.
    ngx_http_registry_cache_request_t placed{};
    placed.asked.route.name = target.name;
    switch (ngx_http_registry_cache_place(r, *rlcf, placed)) {
        case ngx_http_registry_cache_namespace_t::placed:
            break;
        case ngx_http_registry_cache_namespace_t::invalid:
            return ngx_http_registry_cache_send_error(r, registry_cache::RouteError::name_invalid);
        case ngx_http_registry_cache_namespace_t::error:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    std::vector<std::string> repositories{std::string(placed.asked.store_name)};
    const std::string_view hosted = ngx_http_registry_cache_hosted_name(r, placed);
    if (!hosted.empty()) repositories.emplace_back(hosted);

    registry_cache::PurgeCount count;
    if (!ngx_http_registry_cache_forget(r, cache, repositories, target, count)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const ngx_str_t what = ngx_http_registry_cache_str(path);
    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "registry cache: purged \"%V\": %uL blob links, %uL manifest links, %uL tags, %uL blob bodies",
                  &what, count.blob_links, count.manifest_links, count.tags, count.blob_bodies);
    return answer(r, count.total() + count.blob_bodies != 0 ? NGX_HTTP_OK : NGX_HTTP_NOT_FOUND,
                  registry_cache::render_purge_count(count));
}

}  // namespace

bool ngx_http_registry_cache_forget(ngx_http_request_t *r, ngx_http_registry_cache_t *cache,
                                    const std::vector<std::string> &repositories,
                                    const registry_cache::PurgeTarget &target, registry_cache::PurgeCount &count) {
    ngx_http_registry_cache_worker_t *w = cache->worker;
    if (w == nullptr || w->store == nullptr) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: the store is not open: nothing forgotten");
        return false;
    }
    std::vector<std::string> bodies;
    std::string error;
    if (!w->store->purge(repositories, target, count, bodies, error)) {
        ngx_http_registry_cache_count(cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: forgetting failed, nothing forgotten: %s",
                      error.c_str());
        return false;
    }
    // The files after the records: a file without a record is found again and removed, a
    // record without its file is a miss that keeps the body anew.
    if (w->blobs != nullptr) {
        for (const std::string &digest : bodies) w->blobs->remove(registry_cache::parse_digest(digest).digest);
    }
    return true;
}

ngx_int_t ngx_http_registry_cache_purge_handler(ngx_http_request_t *r) noexcept {
    try {
        return purge(r);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: purge: %s", e.what());
    }
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
