// What a process keeps of each cache, and its life across nginx's processes (lifecycle.cpp):
// the master opens each store once to create and validate it; each worker opens its own.
#pragma once

#include "state/conf.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "registry_cache/blobs/blob_files.h"
#include "registry_cache/flight.h"
#include "registry_cache/store.h"

// What this process keeps for a cache: its LMDB handle and the writes not yet committed.
struct ngx_http_registry_cache_worker_t {
    std::unique_ptr<registry_cache::Store> store;  // null when the store could not be opened
    std::unique_ptr<registry_cache::BlobFiles> blobs;  // null unless blobs_max_size is set
    std::vector<registry_cache::StoreWrite> pending;
    std::vector<registry_cache::FlightLead> pending_flights;  // flights to land when `pending` commits
    ngx_event_t flush;      // posted when `pending` gets its first write
    time_t last_error_log;  // rate limit of store error lines
};

ngx_int_t ngx_http_registry_cache_init_module(ngx_cycle_t *cycle) noexcept;
ngx_int_t ngx_http_registry_cache_init_process(ngx_cycle_t *cycle) noexcept;
void ngx_http_registry_cache_exit_process(ngx_cycle_t *cycle) noexcept;
