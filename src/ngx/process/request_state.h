// Request state that outlives internal redirects (request_state.cpp): kept in r->ctx and, when
// the request is about to be redirected to registry_cache_pass, where the redirect cannot
// zero it. A leader that ends without landing its flight lands it there.
#pragma once

#include "state/request.h"

ngx_http_registry_cache_request_t *ngx_http_registry_cache_attach_state(
    ngx_http_request_t *r, const ngx_http_registry_cache_request_t &judged,
    bool across_redirects) noexcept;
ngx_http_registry_cache_request_t *ngx_http_registry_cache_find_state(ngx_http_request_t *r) noexcept;

// A leader that will not record what its followers wait for lands its flight now, unrecorded,
// so that they go their own way at once; the request then leads nothing (a miss after this
// leads or follows a flight of its own).
void ngx_http_registry_cache_abandon_flight(ngx_http_registry_cache_request_t &state) noexcept;
