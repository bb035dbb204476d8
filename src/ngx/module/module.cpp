// The module's definition: directives, configuration life cycle, phase registration.
#include "module/directives.h"
#include "module/zone_sharing.h"
#include "process/process.h"
#include "serve/serve.h"
#include "upstream/upstream.h"
#include "verify/verify_filter.h"

#include "registry_cache/policy/stale.h"

namespace {

void *create_main_conf(ngx_conf_t *cf) noexcept {
    auto *conf = static_cast<ngx_http_registry_cache_main_conf_t *>(
        ngx_pcalloc(cf->pool, sizeof(ngx_http_registry_cache_main_conf_t)));
    if (conf == nullptr) {
        return nullptr;
    }
    if (ngx_array_init(&conf->caches, cf->pool, 4, sizeof(ngx_http_registry_cache_t *))
        != NGX_OK)
    {
        return nullptr;
    }
    return conf;
}

void *create_loc_conf(ngx_conf_t *cf) noexcept {
    auto *conf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_pcalloc(cf->pool, sizeof(ngx_http_registry_cache_loc_conf_t)));
    if (conf == nullptr) {
        return nullptr;
    }
    // pcalloc leaves conf->pass empty: unset.
    conf->shm_zone = static_cast<ngx_shm_zone_t *>(NGX_CONF_UNSET_PTR);
    conf->verify = NGX_CONF_UNSET;
    conf->manifest_max_size = NGX_CONF_UNSET_SIZE;
    conf->tag_ttl = NGX_CONF_UNSET;
    conf->link_ttl = NGX_CONF_UNSET;
    conf->stored_proof_ttl = NGX_CONF_UNSET_MSEC;
    // pcalloc left use_stale 0: unset (ngx_conf_merge_bitmask_value's convention).
#if (NGX_THREADS)
    conf->verify_threads = static_cast<ngx_thread_pool_t *>(NGX_CONF_UNSET_PTR);
#endif
    conf->token_trust = static_cast<registry_cache::auth::TokenTrust *>(NGX_CONF_UNSET_PTR);
    conf->upstream_auth = NGX_CONF_UNSET;
    conf->credential_ttl = NGX_CONF_UNSET;
    conf->upstream_namespace = static_cast<ngx_http_complex_value_t *>(NGX_CONF_UNSET_PTR);
    // pcalloc leaves token_pass and upstream_credentials empty: unset.
    return conf;
}

char *merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) noexcept {
    auto *prev = static_cast<ngx_http_registry_cache_loc_conf_t *>(parent);
    auto *conf = static_cast<ngx_http_registry_cache_loc_conf_t *>(child);

    ngx_conf_merge_ptr_value(conf->shm_zone, prev->shm_zone, nullptr);
    ngx_conf_merge_str_value(conf->pass, prev->pass, "");
    ngx_conf_merge_value(conf->verify, prev->verify, 1);
    // distribution's own limit on a manifest it accepts.
    ngx_conf_merge_size_value(conf->manifest_max_size, prev->manifest_max_size, 4 * 1024 * 1024);
    ngx_conf_merge_sec_value(conf->tag_ttl, prev->tag_ttl, 0);
    ngx_conf_merge_sec_value(conf->link_ttl, prev->link_ttl, 0);
    ngx_conf_merge_msec_value(conf->stored_proof_ttl, prev->stored_proof_ttl, 0);
    ngx_conf_merge_bitmask_value(conf->use_stale, prev->use_stale, NGX_CONF_BITMASK_SET | registry_cache::stale_off);
#if (NGX_THREADS)
    // Set with `verify` by one directive, so inherited with it.
    ngx_conf_merge_ptr_value(conf->verify_threads, prev->verify_threads, nullptr);
#endif
    ngx_conf_merge_ptr_value(conf->token_trust, prev->token_trust, nullptr);
    ngx_conf_merge_value(conf->upstream_auth, prev->upstream_auth, 0);
    if (conf->token_pass.data == nullptr) {
        conf->token_pass = prev->token_pass;
        conf->token_pass_uri = prev->token_pass_uri;
        conf->token_pass_args = prev->token_pass_args;
    }
    ngx_conf_merge_str_value(conf->upstream_credentials, prev->upstream_credentials, "");
    ngx_conf_merge_sec_value(conf->credential_ttl, prev->credential_ttl, 0);
    ngx_conf_merge_ptr_value(conf->upstream_namespace, prev->upstream_namespace, nullptr);

    if (conf->shm_zone == nullptr) {
        if (conf->purge || conf->notifications) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\" needs \"registry_cache\" in its location to name the cache it changes",
                               conf->purge ? "registry_cache_purge" : "registry_cache_notifications");
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        return NGX_CONF_OK;
    }
    if (conf->upstream_auth && conf->token_pass.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache_upstream_auth on\" needs \"registry_cache_token_pass\" to name "
                           "the location that reaches the token service");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (conf->upstream_auth && !ngx_http_registry_cache_make_token_realm(cf, *conf)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (conf->upstream_auth && conf->token_trust != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache_upstream_auth on\" and \"registry_cache_token_trust\" exclude each "
                           "other: in mirror mode the edge's own token replaces a client's");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (conf->token_trust != nullptr && conf->upstream_namespace != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache_token_trust\" and \"registry_cache_namespace\" exclude each other: "
                           "a token trusted for one registry's repository would prove another's");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (conf->upstream_auth && conf->credential_ttl > 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache_credential_ttl\" proves clients' own Basic credentials, which "
                           "\"registry_cache_upstream_auth on\" never sends upstream");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (conf->credential_ttl > 0 && !ngx_http_registry_cache_make_credential_memory(cf, *conf)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    // registry_cache_path sets the zone's data when it declares the zone, so a zone
    // without data was only named by registry_cache.
    if (conf->shm_zone->data == nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"registry_cache\" zone \"%V\" is unknown",
                           &conf->shm_zone->shm.name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (conf->pass.len == 0 && !conf->purge && !conf->notifications) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache %V\" needs \"registry_cache_pass\" to name where "
                           "requests go that the cache does not answer",
                           &conf->shm_zone->shm.name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    // Bodies are written by the threads that hash them, never on the event loop (a purge
    // writes none).
    auto *cache = static_cast<ngx_http_registry_cache_t *>(conf->shm_zone->data);
    bool threads = false;
#if (NGX_THREADS)
    threads = conf->verify && conf->verify_threads != nullptr;
#endif
    if (cache->blobs_max_size > 0 && !threads && !conf->purge && !conf->notifications) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache %V\" keeps blob bodies (blobs_max_size), which needs "
                           "\"registry_cache_verify threads\" where it is used",
                           &conf->shm_zone->shm.name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (!ngx_http_registry_cache_share_zone(cf, *conf)) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

ngx_int_t postconfiguration(ngx_conf_t *cf) noexcept {
    auto *cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    // A phase handler rather than clcf->handler: `registry_cache` may be set at http or server
    // level and inherited; the handler declines where it is off.
    auto *h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_CONTENT_PHASE].handlers));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    *h = ngx_http_registry_cache_handler;
    if (ngx_http_registry_cache_verify_filter_init(cf) != NGX_OK ||
        ngx_http_registry_cache_error_page_init(cf) != NGX_OK ||
        ngx_http_registry_cache_pushed_manifest_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }
    return ngx_http_registry_cache_filter_init(cf);
}

ngx_command_t commands[] = {
    {ngx_string("registry_cache_path"), NGX_HTTP_MAIN_CONF | NGX_CONF_2MORE,
     ngx_http_registry_cache_path, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_registry_cache, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_pass"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_registry_cache_pass, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_verify"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_registry_cache_verify, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_manifest_max_size"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_size_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, manifest_max_size), nullptr},
    {ngx_string("registry_cache_link_ttl"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, link_ttl), nullptr},
    {ngx_string("registry_cache_stored_proof_ttl"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_msec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, stored_proof_ttl), nullptr},
    {ngx_string("registry_cache_tag_ttl"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, tag_ttl), nullptr},
    {ngx_string("registry_cache_use_stale"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
     ngx_http_registry_cache_use_stale, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_token_trust"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_2MORE,
     ngx_http_registry_cache_token_trust, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_upstream_auth"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, upstream_auth), nullptr},
    {ngx_string("registry_cache_upstream_credentials"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_registry_cache_upstream_credentials, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_token_pass"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_registry_cache_token_pass, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_credential_ttl"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, credential_ttl), nullptr},
    {ngx_string("registry_cache_namespace"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_http_set_complex_value_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_registry_cache_loc_conf_t, upstream_namespace), nullptr},
    {ngx_string("registry_cache_purge"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_registry_cache_purge,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_notifications"), NGX_HTTP_LOC_CONF | NGX_CONF_ANY,
     ngx_http_registry_cache_notifications, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("registry_cache_metrics"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     ngx_http_registry_cache_metrics, 0, 0, nullptr},
    ngx_null_command};

ngx_http_module_t module_ctx = {
    ngx_http_registry_cache_add_variables,  // preconfiguration
    postconfiguration,  // postconfiguration
    create_main_conf,   // create main configuration
    nullptr,            // init main configuration
    nullptr,            // create server configuration
    nullptr,            // merge server configuration
    create_loc_conf,    // create location configuration
    merge_loc_conf      // merge location configuration
};

}  // namespace

ngx_module_t ngx_http_registry_cache_module = {
    NGX_MODULE_V1,
    &module_ctx,       // module context
    commands,          // module directives
    NGX_HTTP_MODULE,   // module type
    nullptr,           // init master
    ngx_http_registry_cache_init_module,   // init module
    ngx_http_registry_cache_init_process,  // init process
    nullptr,           // init thread
    nullptr,           // exit thread
    ngx_http_registry_cache_exit_process,  // exit process
    nullptr,           // exit master
    NGX_MODULE_V1_PADDING};
