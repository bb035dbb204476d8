// The shared memory zone of a cache: counters every worker bumps.
#include "state/conf.h"

ngx_int_t ngx_http_registry_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept {
    auto *cache = static_cast<ngx_http_registry_cache_t *>(shm_zone->data);
    auto *old = static_cast<ngx_http_registry_cache_t *>(data);

    // On reload nginx keeps a zone whose name, size and tag did not change: keep its
    // counters too, so that they keep rising across reloads as Prometheus expects.
    if (old != nullptr) {
        cache->sh = old->sh;
        return NGX_OK;
    }

    auto *shpool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);
    if (shm_zone->shm.exists) {
        cache->sh = static_cast<ngx_http_registry_cache_shctx_t *>(shpool->data);
        return NGX_OK;
    }

    cache->sh = static_cast<ngx_http_registry_cache_shctx_t *>(
        ngx_slab_calloc(shpool, sizeof(ngx_http_registry_cache_shctx_t)));
    if (cache->sh == nullptr) {
        return NGX_ERROR;
    }
    shpool->data = cache->sh;

    static constexpr char ctx[] = " in registry cache zone \"";
    size_t len = sizeof(ctx) - 1 + shm_zone->shm.name.len + 1;
    shpool->log_ctx = static_cast<u_char *>(ngx_slab_alloc(shpool, len + 1));
    if (shpool->log_ctx == nullptr) {
        return NGX_ERROR;
    }
    ngx_sprintf(shpool->log_ctx, "%s%V\"%Z", ctx, &shm_zone->shm.name);
    return NGX_OK;
}
