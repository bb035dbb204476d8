// The directives' handlers (directives.cpp), for the module's command table (module.cpp).
#pragma once

#include "state/conf.h"

char *ngx_http_registry_cache_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_purge(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_notifications(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_verify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_use_stale(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_token_trust(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_upstream_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *ngx_http_registry_cache_token_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;

// registry_cache_credential_ttl's memory for `conf` (a location that sets a TTL), made at merge
// with its own key; false (logged) when it cannot be.
bool ngx_http_registry_cache_make_credential_memory(ngx_conf_t *cf, ngx_http_registry_cache_loc_conf_t &conf) noexcept;

// The key under which `conf`'s tokens are kept (conf.h, token_realm); false when memory ran out.
bool ngx_http_registry_cache_make_token_realm(ngx_conf_t *cf, ngx_http_registry_cache_loc_conf_t &conf) noexcept;
