// Headers of the responses the module makes or remakes: its own answers (serve/) and the
// upstream's, rewritten (upstream/) alike.
#pragma once

#include "nginx_headers.h"

// Adds one header to the response; `key` and `value` must live as long as the request.
bool ngx_http_registry_cache_add_header(ngx_http_request_t *r, const ngx_str_t &key, const ngx_str_t &value) noexcept;
// Headers distribution sends on every response of the API.
bool ngx_http_registry_cache_add_registry_headers(ngx_http_request_t *r) noexcept;
