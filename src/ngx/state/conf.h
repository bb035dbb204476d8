// What the module keeps across requests: its configuration (a cache per registry_cache_path,
// the location's directives) and each cache's shared memory zone (counters, flights).
#pragma once

#include "nginx_headers.h"

#include <type_traits>

#include "registry_cache/auth/credential_memory.h"
#include "registry_cache/auth/token.h"
#include "registry_cache/auth/upstream_token.h"
#include "registry_cache/deletions.h"
#include "registry_cache/flight.h"
#include "registry_cache/metrics.h"

extern "C" ngx_module_t ngx_http_registry_cache_module;

// A counter of one cache, in its shared memory zone, on its own cache line so that workers
// bumping different counters do not contend for one line.
struct ngx_http_registry_cache_counter_t {
    alignas(64) ngx_atomic_t value;
};

// Every counter of a cache (registry_cache::CacheCounters, one table in metrics.h), then the
// single-flight table.
struct ngx_http_registry_cache_shctx_t {
#define NGX_HTTP_REGISTRY_CACHE_SH_COUNTER(field, family, help) ngx_http_registry_cache_counter_t field;
    REGISTRY_CACHE_COUNTERS(NGX_HTTP_REGISTRY_CACHE_SH_COUNTER)
#undef NGX_HTTP_REGISTRY_CACHE_SH_COUNTER
    registry_cache::FlightTable flights;  // under the zone's lock (process/flight.cpp)
    // Deletions the registry notified lately, under the zone's lock (serve/notifications_handler.cpp).
    registry_cache::DeletionMemory deletions;
    // Mirror mode's upstream tokens, under the zone's lock (upstream/upstream_token.cpp):
    // allocated from the zone when first needed; null until then, or if it did not fit.
    registry_cache::auth::UpstreamTokenTable *tokens;
    bool tokens_tried;  // an allocation was tried (its failure is logged once)
};

struct ngx_http_registry_cache_worker_t;  // this process's store and writes (process/process.h)
struct ngx_http_registry_cache_loc_conf_t;

// A place where the content handler acts on a cache, as the configuration being read merged it
// (module/zone_sharing.cpp): what it stores and serves must agree with the cache's other places.
struct ngx_http_registry_cache_user_t {
    const ngx_http_registry_cache_loc_conf_t *conf;
    ngx_str_t where;  // `location "/v2/"`, for the [emerg] that names it
};

// One `registry_cache_path`: where its LMDB environment lives and its shared zone.
struct ngx_http_registry_cache_t {
    ngx_str_t path;
    off_t max_size;
    off_t blobs_max_size;  // bytes of blob bodies kept on disk (under path/blobs); 0: none
    ngx_shm_zone_t *shm_zone;
    ngx_http_registry_cache_shctx_t *sh;       // set when the zone is initialised
    ngx_http_registry_cache_worker_t *worker;  // this process's store; null in the master
    // The places that use it (of ngx_http_registry_cache_user_t), in the configuration's pool:
    // a reload reads them anew with a new cache, never from the zone's memory. Null: none yet.
    ngx_array_t *users;
};

struct ngx_http_registry_cache_main_conf_t {
    ngx_array_t caches;  // of ngx_http_registry_cache_t *
};

struct ngx_http_registry_cache_loc_conf_t {
    ngx_shm_zone_t *shm_zone;  // NULL: off; NGX_CONF_UNSET_PTR: not set here
    ngx_str_t pass;            // "@name" or "/uri" where requests the cache does not answer go
    ngx_flag_t verify;         // hash bodies relayed from the upstream
    size_t manifest_max_size;  // larger manifests pass and are not stored; 0: none is
    time_t tag_ttl;            // seconds a tag is answered locally after it was learned
    time_t link_ttl;           // seconds a blob's or manifest's link is (0: for ever)
    ngx_uint_t use_stale;      // registry_cache::StaleCondition mask (policy/stale.h)
#if (NGX_THREADS)
    ngx_thread_pool_t *verify_threads;  // where large bodies are hashed; null: the event loop
#endif
    // registry_cache_stored_proof_ttl: how long this worker's proof of a stored body's file
    // (hashed whole to its name) answers for that file unchanged (0: every GET proves it).
    ngx_msec_t stored_proof_ttl;
    // registry_cache_token_trust: the roots and keys Bearer tokens are checked against
    // (owned by the configuration's pool); null: a token proves nothing here.
    registry_cache::auth::TokenTrust *token_trust;
    // Mirror mode (registry_cache_upstream_auth): the edge fetches the upstream's tokens from
    // the location token_pass names (its URI and query, which names the service), with the
    // Basic credentials of registry_cache_upstream_credentials ("Basic ...", empty: none).
    ngx_flag_t upstream_auth;
    ngx_str_t token_pass;       // the URI as configured: the realm that keys tokens
    ngx_str_t token_pass_uri;   // its path
    ngx_str_t token_pass_args;  // its query, without '?'
    ngx_str_t upstream_credentials;
    // What its tokens are kept under in the zone's table, with their scope: the token URI,
    // and a hash of the credentials and of the server (set at merge), so that two locations
    // of one zone share tokens only when they would fetch the same ones.
    ngx_str_t token_realm;
    // registry_cache_credential_ttl: how long a Basic credential that the upstream answered
    // 200 for a repository proves that repository here (0: off), and this location's memory
    // of them (owned by the configuration's pool; per worker once they fork).
    time_t credential_ttl;
    registry_cache::auth::CredentialMemory *credential_memory;
    // registry_cache_namespace: which upstream a request goes to, when one location serves
    // several (containerd's `ns`, a Host the edge forwards): everything the cache keeps is
    // kept under it (null, or an empty value: the one upstream).
    ngx_http_complex_value_t *upstream_namespace;
    // registry_cache_purge: this location forgets what a DELETE names (its own, not inherited).
    ngx_flag_t purge;
    // registry_cache_notifications: this location applies the registry's webhook events (its
    // own, not inherited); the token they must carry as "Authorization: Bearer <token>"
    // (empty: none asked), and what pushed blobs teach (0: nothing, 1: credentialed links, 2: public ones).
    ngx_flag_t notifications;
    ngx_str_t notify_secret;
    ngx_uint_t notify_pushed;
};

static_assert(std::is_trivially_destructible_v<ngx_http_registry_cache_loc_conf_t>,
              "nginx frees configuration with its pool, running no destructors");

inline void ngx_http_registry_cache_count(ngx_http_registry_cache_counter_t &c,
                                          ngx_atomic_int_t n = 1) noexcept {
    (void) ngx_atomic_fetch_add(&c.value, n);
}

// Shared zone set-up, reused across reloads (state/zone.cpp).
ngx_int_t ngx_http_registry_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept;
