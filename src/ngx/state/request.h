// The state of one request: what it asked, what the cache made of it, the flight it leads
// or follows, the body being verified, the error page replacing its response.
#pragma once

#include "state/conf.h"

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "registry_cache/learn.h"
#include "registry_cache/route.h"

// What $registry_cache_status says.
enum class ngx_http_registry_cache_status_t : unsigned char { none, hit, miss, bypass, error, revalidated, stale };

struct ngx_http_registry_cache_verify_t;  // a body being hashed (verify/verify.h)
struct ngx_http_registry_cache_revalidation_t;  // a tag being revalidated (serve/revalidate.cpp)

// The state of one request, kept where nginx's internal redirects cannot zero it (see
// process/request_state.cpp), in one part per feature. Its views point into the request's own memory.
struct ngx_http_registry_cache_request_t {
    ngx_http_registry_cache_t *cache;
    struct {
        registry_cache::Route route;
        registry_cache::Method method;
        bool credentialed;  // it carried a credential of some kind (policy/credentials.h)
        // A request of a tag whose Accept names the Docker manifest list type (as every
        // registry reads it): no list was rewritten for it, so what it learns of the tag is
        // the tag's for every client (TagRecord::learned_naming_list).
        bool accept_names_list;
        bool proven;        // its Bearer token, checked here, grants pull on the repository,
                            // or its Basic credential was accepted for it a moment ago
        // Its Basic credential and the location that remembers those the upstream accepts
        // (registry_cache_credential_ttl); null: none is remembered.
        ngx_str_t basic;
        // Its upstream's namespace (registry_cache_namespace; empty: the one upstream), the
        // repository as the store keeps it there (registry_cache::in_namespace()): where it
        // is read, and written unless its Host went upstream; and the repository under that
        // namespace and its Host (empty: too long), where what was learned with the Host
        // forwarded is kept (process/upstream_namespace.h).
        std::string_view upstream_namespace;
        std::string_view store_name;
        std::string_view hosted_name;
        bool hosted_built;  // hosted_name was built (ngx_http_registry_cache_hosted_name)
        ngx_http_registry_cache_loc_conf_t *remembers;
    } asked;
    struct {
        ngx_http_registry_cache_status_t status;  // what $registry_cache_status says
        bool may_record;  // false after a store error, or a body refused: nothing is written
        time_t link_ttl;  // registry_cache_link_ttl of the location that judged it
        bool observed;    // the upstream's response header was seen
        bool expired;     // what it asked for is held, servable, but past link_ttl (read as a miss)
    } lookup;
    struct {
        std::uint64_t key;      // the single flight this request leads or follows; 0: none
        std::uint64_t lead;     // non-zero: it leads (its claim's lead), and must land the flight
        ngx_connection_t *client;  // the leader's: gone, its flight is led again by another
        bool landed;            // the flight was landed, or handed to the writer to land
        ngx_msec_t wait_until;  // a follower's deadline
        ngx_msec_t poll_ms;     // a follower's current interval between looks at its flight
        bool waited;            // it waited for another's revalidation: it joins none again
    } flight;
    struct {
        bool on;  // registry_cache_verify of the location that judged the request
        size_t manifest_max_size;  // and its registry_cache_manifest_max_size
#if (NGX_THREADS)
        ngx_thread_pool_t *threads;  // and its thread pool
#endif
        ngx_msec_t stored_proof_ttl;  // and its registry_cache_stored_proof_ttl
        ngx_http_registry_cache_verify_t *body;  // set while a body is being hashed
    } verify;
    ngx_http_registry_cache_revalidation_t *revalidation;  // set while a tag is revalidated
    struct {
        bool handled;   // the request took its turn for the edge's token (never twice)
        bool fetched;   // it fetched one itself (a failure is not tried again)
        bool retried;   // it went upstream again after its token was refused (never twice)
        ngx_str_t target;  // where it goes once it has its token, or none is to be had
        ngx_http_registry_cache_loc_conf_t *conf;  // the location that judged it
        ngx_str_t key;     // its token's key: the token location's URI, and the scope
        ngx_str_t token;   // the edge's token it carries upstream (empty: none)
        ngx_msec_t wait_until;  // a wait for another request's fetch ends then
        ngx_msec_t poll_ms;
    } mirror;  // mirror mode (upstream/upstream_token.h)
    ngx_uint_t use_stale;  // registry_cache_use_stale of the location (policy/stale.h)
    struct {
        bool on;        // a PUT of a manifest: its bytes are kept as they pass upstream
        bool overflow;  // more than registry_cache_manifest_max_size, undeclared, or not in memory
        u_char *data;
        size_t len;
        size_t cap;     // its declared length
    } pushed;  // upstream/pushed_manifest.cpp
    struct {
        ngx_str_t body;  // OCI error JSON sent in place of the response's own body
        bool sent;
    } error_page;
};

// The request's route with its repository as the store keeps it: what is read and written.
inline registry_cache::Route ngx_http_registry_cache_stored_route(const ngx_http_registry_cache_request_t &state) noexcept {
    registry_cache::Route route = state.asked.route;
    route.name = state.asked.store_name;
    return route;
}

static_assert(std::is_trivially_destructible_v<ngx_http_registry_cache_request_t>,
              "request state lives in the request pool, which runs no destructors");
