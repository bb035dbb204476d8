// `registry_cache_metrics;`: every cache's counters and store gauges as Prometheus text.
#include "serve/serve.h"
#include "process/process.h"

#include <string>
#include <vector>

#include "registry_cache/metrics.h"

namespace {

std::uint64_t read(const ngx_http_registry_cache_counter_t &c) noexcept {
    return static_cast<std::uint64_t>(c.value);
}

registry_cache::CacheMetrics snapshot(ngx_http_registry_cache_t *cache) {
    registry_cache::CacheMetrics m;
    m.zone.assign(ngx_http_registry_cache_view(cache->shm_zone->shm.name));
    const auto &sh = *cache->sh;
    auto &c = m.counters;
#define NGX_HTTP_REGISTRY_CACHE_READ(field, family, help) c.field = read(sh.field);
    REGISTRY_CACHE_COUNTERS(NGX_HTTP_REGISTRY_CACHE_READ)
#undef NGX_HTTP_REGISTRY_CACHE_READ

    std::string error;
    if (cache->worker != nullptr && cache->worker->store != nullptr) {
        m.store_ok = cache->worker->store->stats(m.store, error);
    }
    return m;
}

ngx_int_t respond(ngx_http_request_t *r) {
    static ngx_str_t text = ngx_string("text/plain; version=0.0.4; charset=utf-8");

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    auto *rcmf = static_cast<ngx_http_registry_cache_main_conf_t *>(
        ngx_http_get_module_main_conf(r, ngx_http_registry_cache_module));
    std::vector<registry_cache::CacheMetrics> caches;
    auto **elts = static_cast<ngx_http_registry_cache_t **>(rcmf->caches.elts);
    for (ngx_uint_t i = 0; i < rcmf->caches.nelts; i++) {
        caches.push_back(snapshot(elts[i]));
    }
    std::string body;
    registry_cache::render_metrics(caches, body);

    r->headers_out.status = NGX_HTTP_OK;
    return ngx_http_registry_cache_send_body(r, text, body.data(), body.size());
}

}  // namespace

ngx_int_t ngx_http_registry_cache_metrics_handler(ngx_http_request_t *r) noexcept {
    try {
        return respond(r);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: metrics: %s", e.what());
    }
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
