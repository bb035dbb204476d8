// The lock of a cache's shared zone (the slab pool's own mutex), held for one scan of a
// table in the zone (flights, upstream tokens): short, never across I/O.
#pragma once

#include "state/conf.h"

class ngx_http_registry_cache_zone_lock {
public:
    explicit ngx_http_registry_cache_zone_lock(ngx_http_registry_cache_t *cache) noexcept
        : pool_(reinterpret_cast<ngx_slab_pool_t *>(cache->shm_zone->shm.addr)) {
        ngx_shmtx_lock(&pool_->mutex);
    }
    ~ngx_http_registry_cache_zone_lock() { ngx_shmtx_unlock(&pool_->mutex); }
    ngx_http_registry_cache_zone_lock(const ngx_http_registry_cache_zone_lock &) = delete;
    ngx_http_registry_cache_zone_lock &operator=(const ngx_http_registry_cache_zone_lock &) = delete;
    // For allocations from the zone while the lock is held (ngx_slab_*_locked).
    ngx_slab_pool_t *pool() const noexcept { return pool_; }

private:
    ngx_slab_pool_t *pool_;
};
