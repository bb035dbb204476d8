// Shared declarations of the nginx glue. Every .cpp of src/ngx includes this first: nginx's
// headers set the 64-bit off_t and feature macros that the rest must agree with.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <type_traits>

// Counters of one cache, in its shared memory zone; each on its own cache line so workers
// bumping different counters do not contend for one line.
struct ngx_http_registry_cache_counter_t {
    alignas(64) ngx_atomic_t value;
};

struct ngx_http_registry_cache_shctx_t {
    ngx_http_registry_cache_counter_t requests;       // requests the handler saw
    ngx_http_registry_cache_counter_t refused;        // answered locally with an OCI error
    ngx_http_registry_cache_counter_t passed;         // handed to registry_cache_pass
};

// One `registry_cache_path`: where its LMDB environment lives and its shared zone.
struct ngx_http_registry_cache_t {
    ngx_str_t path;
    off_t max_size;
    ngx_shm_zone_t *shm_zone;
    ngx_http_registry_cache_shctx_t *sh;  // set when the zone is initialised
};

struct ngx_http_registry_cache_main_conf_t {
    ngx_array_t caches;  // of ngx_http_registry_cache_t *
};

struct ngx_http_registry_cache_loc_conf_t {
    ngx_shm_zone_t *shm_zone;  // NULL: off; NGX_CONF_UNSET_PTR: not set here
    ngx_str_t pass;            // "@name" or "/uri" where requests the cache does not answer go
};

static_assert(std::is_trivially_destructible_v<ngx_http_registry_cache_loc_conf_t>,
              "nginx frees configuration with its pool, running no destructors");

extern "C" ngx_module_t ngx_http_registry_cache_module;

// Directive handlers (directives.cpp).
char *ngx_http_registry_cache_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;

// The content-phase handler (handler.cpp).
ngx_int_t ngx_http_registry_cache_handler(ngx_http_request_t *r) noexcept;

// Shared zone set-up, reused across reloads (zone.cpp).
ngx_int_t ngx_http_registry_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept;

// Bumps a counter of the zone, if the zone is initialised.
inline void ngx_http_registry_cache_count(ngx_http_registry_cache_counter_t &c) noexcept {
    (void) ngx_atomic_fetch_add(&c.value, 1);
}
