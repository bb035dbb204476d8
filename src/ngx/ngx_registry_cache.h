// Shared declarations of the nginx glue. Every .cpp of src/ngx includes this first: nginx's
// headers set the 64-bit off_t and feature macros that the rest must agree with.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <memory>
#include <type_traits>
#include <vector>

#include "registry_cache/flight.h"
#include "registry_cache/learn.h"
#include "registry_cache/metrics.h"
#include "registry_cache/policy/body_check.h"
#include "registry_cache/route.h"
#include "registry_cache/store.h"
#include "registry_cache/store_write.h"

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
    registry_cache::FlightTable flights;  // under the zone's lock (flight.cpp)
};

struct ngx_http_registry_cache_worker_t;

// One `registry_cache_path`: where its LMDB environment lives and its shared zone.
struct ngx_http_registry_cache_t {
    ngx_str_t path;
    off_t max_size;
    ngx_shm_zone_t *shm_zone;
    ngx_http_registry_cache_shctx_t *sh;       // set when the zone is initialised
    ngx_http_registry_cache_worker_t *worker;  // this process's store; null in the master
};

// What this process keeps for a cache: its LMDB handle and the writes not yet committed.
struct ngx_http_registry_cache_worker_t {
    std::unique_ptr<registry_cache::Store> store;  // null when the store could not be opened
    std::vector<registry_cache::StoreWrite> pending;
    std::vector<std::uint64_t> pending_flights;  // flights to land when `pending` commits
    ngx_event_t flush;    // posted when `pending` gets its first write
    time_t last_error_log;  // rate limit of store error lines
};

struct ngx_http_registry_cache_main_conf_t {
    ngx_array_t caches;  // of ngx_http_registry_cache_t *
};

struct ngx_http_registry_cache_loc_conf_t {
    ngx_shm_zone_t *shm_zone;  // NULL: off; NGX_CONF_UNSET_PTR: not set here
    ngx_str_t pass;            // "@name" or "/uri" where requests the cache does not answer go
    ngx_flag_t verify;         // hash bodies relayed from the upstream
#if (NGX_THREADS)
    ngx_thread_pool_t *verify_threads;  // where large bodies are hashed; null: the event loop
#endif
};

static_assert(std::is_trivially_destructible_v<ngx_http_registry_cache_loc_conf_t>,
              "nginx frees configuration with its pool, running no destructors");

// What $registry_cache_status says.
enum class ngx_http_registry_cache_status_t : unsigned char { none, hit, miss, bypass, error };

struct ngx_http_registry_cache_verify_t;  // a body being hashed (verify_filter.cpp)

// The state of one request, kept where nginx's internal redirects cannot zero it (see
// request_state.cpp), in one part per feature. Its views point into the request's own memory.
struct ngx_http_registry_cache_request_t {
    ngx_http_registry_cache_t *cache;
    struct {
        registry_cache::Route route;
        registry_cache::Method method;
        bool credentialed;  // it carried a credential of some kind (policy/credentials.h)
    } asked;
    struct {
        ngx_http_registry_cache_status_t status;  // what $registry_cache_status says
        bool may_record;  // false after a store error, or a body refused: nothing is written
        bool observed;    // the upstream's response header was seen
    } lookup;
    struct {
        std::uint64_t key;      // the single flight this request leads or follows; 0: none
        bool leader;            // it leads: it must land the flight
        bool landed;            // the flight was landed, or handed to the writer to land
        ngx_msec_t wait_until;  // a follower's deadline
        ngx_msec_t poll_ms;     // a follower's current interval between looks at its flight
    } flight;
    struct {
        bool on;  // registry_cache_verify of the location that judged the request
#if (NGX_THREADS)
        ngx_thread_pool_t *threads;  // and its thread pool
#endif
        ngx_http_registry_cache_verify_t *body;  // set while a body is being hashed
    } verify;
    struct {
        ngx_str_t body;  // OCI error JSON sent in place of the response's own body
        bool sent;
    } error_page;
};

static_assert(std::is_trivially_destructible_v<ngx_http_registry_cache_request_t>,
              "request state lives in the request pool, which runs no destructors");

extern "C" ngx_module_t ngx_http_registry_cache_module;

// Directive handlers (directives.cpp).
char *ngx_http_registry_cache_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_verify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;

// The content-phase handler (handler.cpp).
ngx_int_t ngx_http_registry_cache_handler(ngx_http_request_t *r) noexcept;

// Answering from the cache and with errors (response.cpp).
ngx_int_t ngx_http_registry_cache_send_hit(ngx_http_request_t *r,
                                           const registry_cache::Route &route,
                                           const registry_cache::BlobDescriptor &d);
ngx_int_t ngx_http_registry_cache_send_error(ngx_http_request_t *r, registry_cache::RouteError e);
ngx_int_t ngx_http_registry_cache_send_body(ngx_http_request_t *r, ngx_str_t content_type,
                                            const char *data, size_t len) noexcept;
bool ngx_http_registry_cache_add_registry_headers(ngx_http_request_t *r) noexcept;

// Request state (request_state.cpp): kept in r->ctx, and, when the request is about to be
// redirected to registry_cache_pass, where the redirect cannot zero it.
ngx_http_registry_cache_request_t *ngx_http_registry_cache_attach_state(
    ngx_http_request_t *r, const ngx_http_registry_cache_request_t &judged,
    bool across_redirects) noexcept;
ngx_http_registry_cache_request_t *ngx_http_registry_cache_find_state(ngx_http_request_t *r) noexcept;

// The filter that learns from the upstream and decides what becomes of its bodies
// (learn_filter.cpp), the body filter that verifies what it relays (verify_filter.cpp), and
// the OCI error JSON that replaces responses (oci_error_page.cpp).
ngx_int_t ngx_http_registry_cache_filter_init(ngx_conf_t *cf) noexcept;
ngx_int_t ngx_http_registry_cache_verify_filter_init(ngx_conf_t *cf) noexcept;
ngx_int_t ngx_http_registry_cache_error_page_init(ngx_conf_t *cf) noexcept;

// Replaces the response about to be sent with OCI error JSON (code UNAVAILABLE) of
// `status`: its headers are dropped, and its body gives way to the JSON. False when memory
// ran out (the caller fails the request).
bool ngx_http_registry_cache_replace_with_error(ngx_http_request_t *r,
                                                ngx_http_registry_cache_request_t &state,
                                                ngx_uint_t status, const char *detail) noexcept;

enum class ngx_http_registry_cache_verify_start_t {
    not_needed,  // the body is not this filter's to verify (a proxy_cache hit without threads)
    started,     // it will be verified: what it teaches is learned at its end
    failed       // it must be, and cannot be (out of memory): none of it may leave
};
// Starts hashing a body that registry_cache::plan_body() said to verify.
ngx_http_registry_cache_verify_start_t ngx_http_registry_cache_start_verify(
    ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
    const registry_cache::UpstreamAnswer &answer, const registry_cache::BodyPlan &plan) noexcept;

// Queues what an upstream answer taught, unless nothing or nothing may be recorded. Running
// out of memory costs the record (counted as an error), never the response.
void ngx_http_registry_cache_teach(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                   registry_cache::Lesson lesson,
                                   const registry_cache::BlobDescriptor &descriptor) noexcept;

// Batched writes (writer.cpp). A `flight` other than 0 is landed once the write commits.
void ngx_http_registry_cache_enqueue(ngx_http_registry_cache_t *cache,
                                     registry_cache::StoreWrite &&write, std::uint64_t flight,
                                     ngx_log_t *log) noexcept;

// Single flight (flight.cpp).
registry_cache::Claim ngx_http_registry_cache_claim_flight(ngx_http_registry_cache_t *cache,
                                                           std::uint64_t key) noexcept;
registry_cache::FlightState ngx_http_registry_cache_look_flight(ngx_http_registry_cache_t *cache,
                                                                std::uint64_t key) noexcept;
void ngx_http_registry_cache_land_flight(ngx_http_registry_cache_t *cache, std::uint64_t key,
                                         bool recorded) noexcept;
ngx_msec_t ngx_http_registry_cache_flight_timeout() noexcept;
void ngx_http_registry_cache_flush(ngx_http_registry_cache_t *cache, ngx_log_t *log) noexcept;

// Store life cycle across the master and the workers (lifecycle.cpp).
ngx_int_t ngx_http_registry_cache_init_module(ngx_cycle_t *cycle) noexcept;
ngx_int_t ngx_http_registry_cache_init_process(ngx_cycle_t *cycle) noexcept;
void ngx_http_registry_cache_exit_process(ngx_cycle_t *cycle) noexcept;
// Logs a store failure at most once a second per cache: it can repeat on every request.
void ngx_http_registry_cache_log_store_error(ngx_http_registry_cache_t *cache, ngx_log_t *log,
                                             const char *what, const std::string &error) noexcept;

// Prometheus metrics (metrics_handler.cpp) and $registry_cache_status (variables.cpp).
ngx_int_t ngx_http_registry_cache_metrics_handler(ngx_http_request_t *r) noexcept;
ngx_int_t ngx_http_registry_cache_add_variables(ngx_conf_t *cf) noexcept;

// Shared zone set-up, reused across reloads (zone.cpp).
ngx_int_t ngx_http_registry_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept;

inline void ngx_http_registry_cache_count(ngx_http_registry_cache_counter_t &c,
                                          ngx_atomic_int_t n = 1) noexcept {
    (void) ngx_atomic_fetch_add(&c.value, n);
}

// A copy of `s` in `pool`; false when the pool has no memory (an empty `s` always copies).
inline bool ngx_http_registry_cache_pool_copy(ngx_pool_t *pool, std::string_view s, ngx_str_t &out) noexcept {
    out = ngx_str_t{s.size(), nullptr};
    if (s.empty()) {
        return true;
    }
    out.data = static_cast<u_char *>(ngx_pnalloc(pool, s.size()));
    if (out.data == nullptr) {
        return false;
    }
    ngx_memcpy(out.data, s.data(), s.size());
    return true;
}

// An ngx_str_t over `s`, for "%V" in log lines; nginx never writes through it there.
inline ngx_str_t ngx_http_registry_cache_str(std::string_view s) noexcept {
    return {s.size(), reinterpret_cast<u_char *>(const_cast<char *>(s.data()))};
}

inline std::string_view ngx_http_registry_cache_view(const ngx_str_t &s) noexcept {
    return {reinterpret_cast<const char *>(s.data), s.len};
}
