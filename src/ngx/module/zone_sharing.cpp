// Which locations may share a cache zone (zone_sharing.h).
#include "module/zone_sharing.h"

#include <string_view>

namespace {

// The only paths the handler looks entries up for start with this.
constexpr std::string_view routes_prefix = "/v2/";

bool is_server_level(ngx_conf_t *cf, const ngx_http_core_loc_conf_t *clcf) noexcept {
    auto *cscf = static_cast<ngx_http_core_srv_conf_t *>(ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module));
    return cscf->ctx->loc_conf[ngx_http_core_module.ctx_index] == clcf;
}

// Whether one of `locations` (prefix locations of a server, or of a place) is longer than
// `name` and takes every path under /v2/: nginx gives a URI to its longest prefix location.
bool taken_by_longer(const ngx_queue_t *locations, std::string_view name) noexcept {
    if (locations == nullptr) return false;
    for (const ngx_queue_t *q = ngx_queue_head(locations); q != ngx_queue_sentinel(locations); q = ngx_queue_next(q)) {
        const auto *lq = reinterpret_cast<const ngx_http_location_queue_t *>(q);
        if (lq->inclusive == nullptr) continue;  // exact, regex, named or an `if`
        const std::string_view other = ngx_http_registry_cache_view(lq->inclusive->name);
        if (other.size() > name.size() && routes_prefix.substr(0, other.size()) == other) return true;
    }
    return false;
}

// Whether a request whose path is a registry route (under /v2/: a valid one is a path nginx's
// normalisation leaves as it is, so its location is found by that path) may reach this place.
// A place that no such request reaches never looks an entry up: the server{}'s own level and a
// `location /` when a `location /v2/` takes those paths, a `location /health`. Nested locations
// are judged by their server's locations only, which can count one too many, never one too few.
bool sees_routes(ngx_conf_t *cf, const ngx_http_core_loc_conf_t *clcf) noexcept {
    if (is_server_level(cf, clcf)) return !taken_by_longer(clcf->locations, {});
#if (NGX_PCRE)
    if (clcf->regex != nullptr) return true;
#endif
    const std::string_view name = ngx_http_registry_cache_view(clcf->name);
    if (name.substr(0, routes_prefix.size()) == routes_prefix) return true;
    if (clcf->exact_match || routes_prefix.substr(0, name.size()) != name) return false;
    auto *cscf = static_cast<ngx_http_core_srv_conf_t *>(ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module));
    const auto *server = static_cast<const ngx_http_core_loc_conf_t *>(cscf->ctx->loc_conf[ngx_http_core_module.ctx_index]);
    return !taken_by_longer(server->locations, name) && !taken_by_longer(clcf->locations, name);
}

// Where the content-phase handler serves entries (serve/handler.cpp): `registry_cache` is on,
// the location is not a named one, and no content handler of its own replaces the phase's
// (proxy_pass in a token or `@hub` location, the purge, notifications and metrics handlers),
// for the registry routes that reach it. An `if` or `limit_except` block has its location's
// settings of this module, and is judged with it.
bool serves_entries(ngx_conf_t *cf, const ngx_http_registry_cache_loc_conf_t &conf) noexcept {
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    if (conf.shm_zone == nullptr || clcf->named || clcf->noname || clcf->handler != nullptr || conf.purge ||
        conf.notifications) {
        return false;
    }
    return sees_routes(cf, clcf);
}

// The namespace of every request of `conf` when it is one value (none is the empty one).
bool constant_namespace(const ngx_http_registry_cache_loc_conf_t &conf, std::string_view &ns) noexcept {
    if (conf.upstream_namespace == nullptr) {
        ns = {};
        return true;
    }
    if (conf.upstream_namespace->lengths != nullptr) return false;  // has variables
    ns = ngx_http_registry_cache_view(conf.upstream_namespace->value);
    return true;
}

// Whether the entries of `a` and `b` can never meet: each a namespace of its own, for good.
bool kept_apart(const ngx_http_registry_cache_loc_conf_t &a, const ngx_http_registry_cache_loc_conf_t &b) noexcept {
    std::string_view na, nb;
    return constant_namespace(a, na) && constant_namespace(b, nb) && na != nb;
}

bool describe(ngx_conf_t *cf, ngx_str_t &where) noexcept {
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    if (is_server_level(cf, clcf)) {
        where = ngx_string("a server{}'s own level");
        return true;
    }
    // Two servers may both have a `location /v2/`: the server's name tells them apart.
    auto *cscf = static_cast<ngx_http_core_srv_conf_t *>(ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module));
    const size_t len = sizeof("location \"\" of server \"\"") - 1 + clcf->name.len + cscf->server_name.len;
    where.data = static_cast<u_char *>(ngx_pnalloc(cf->pool, len));
    if (where.data == nullptr) return false;
    u_char *end = cscf->server_name.len == 0
                      ? ngx_sprintf(where.data, "location \"%V\"", &clcf->name)
                      : ngx_sprintf(where.data, "location \"%V\" of server \"%V\"", &clcf->name, &cscf->server_name);
    where.len = static_cast<size_t>(end - where.data);
    return true;
}

}  // namespace

bool ngx_http_registry_cache_share_zone(ngx_conf_t *cf, const ngx_http_registry_cache_loc_conf_t &conf) noexcept {
    if (!serves_entries(cf, conf)) return true;
    auto *cache = static_cast<ngx_http_registry_cache_t *>(conf.shm_zone->data);
    ngx_str_t where;
    if (!describe(cf, where)) return false;
    if (cache->users == nullptr) {
        cache->users = ngx_array_create(cf->pool, 4, sizeof(ngx_http_registry_cache_user_t));
        if (cache->users == nullptr) return false;
    }
    const auto *users = static_cast<const ngx_http_registry_cache_user_t *>(cache->users->elts);
    for (ngx_uint_t i = 0; i < cache->users->nelts; i++) {
        const ngx_http_registry_cache_loc_conf_t &other = *users[i].conf;
        if (kept_apart(conf, other)) continue;
        if (conf.upstream_auth != other.upstream_auth) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"registry_cache_upstream_auth\" differs between %V and %V that share zone "
                               "\"%V\": what the edge's own credentials pull is kept as public entries, which "
                               "the place without mirror mode would serve to clients who never authenticated; "
                               "give each its own zone",
                               &users[i].where, &where, &conf.shm_zone->shm.name);
            return false;
        }
        if (conf.upstream_auth &&
            ngx_http_registry_cache_view(conf.upstream_credentials) != ngx_http_registry_cache_view(other.upstream_credentials)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"registry_cache_upstream_credentials\" differs between %V and %V that share "
                               "zone \"%V\": what one's credentials pull is kept as public entries, which the "
                               "other would serve to its own clients; give each its own zone",
                               &users[i].where, &where, &conf.shm_zone->shm.name);
            return false;
        }
    }
    auto *user = static_cast<ngx_http_registry_cache_user_t *>(ngx_array_push(cache->users));
    if (user == nullptr) return false;
    *user = {&conf, where};
    return true;
}
