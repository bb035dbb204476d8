// Mirror mode (registry_cache_upstream_auth on): what goes upstream carries the edge's own
// Bearer token for the repository's pull scope, fetched from the location
// registry_cache_token_pass names and shared by every worker until its end
// (registry_cache::auth::UpstreamTokenTable in the cache's zone); a client's own
// Authorization never goes upstream, so what the upstream answers is what the edge's
// credentials pull, the same for every client, and is learned as public.
#pragma once

#include "state/request.h"

// The client's Authorization, gone from the request (at its start, before anything judges
// whether it carries credentials). False when memory ran out.
bool ngx_http_registry_cache_drop_client_authorization(ngx_http_request_t *r) noexcept;

// Sends `r` to `target` with the edge's token: at once when it is held (or none is to be
// had), else after one request fetched it (this one, or another that does already: one fetch
// per scope across workers). nginx's return code; NGX_DONE while it waits.
ngx_int_t ngx_http_registry_cache_pass_with_token(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
                                                  ngx_http_registry_cache_request_t &state, ngx_str_t &target) noexcept;

// The token held for `r`'s scope, set on it now if there is one (a tag revalidation's HEAD
// inherits it); false when none is held.
bool ngx_http_registry_cache_token_at_hand(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
                                           ngx_http_registry_cache_request_t &state) noexcept;

// The upstream refused the edge's token (401, error="invalid_token"): it is forgotten, so
// that the next request fetches another.
void ngx_http_registry_cache_token_refused(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept;

// Whether the request whose token the upstream just refused goes upstream once more with a
// new one: the main request, the first time, a GET or HEAD without a body (nothing of it is
// consumed), its refusal still unsent and the upstream connection that brought it open.
bool ngx_http_registry_cache_may_retry(ngx_http_request_t *r, const ngx_http_registry_cache_request_t &state) noexcept;

// From the header filter of the refused answer, which goes no further down the chain: the
// upstream request ends as nginx ends one before an error_page, the response's headers are
// forgotten, and the request takes a new turn for a token and goes upstream again. What the
// filter returns to the upstream module (which then finalizes nothing more).
ngx_int_t ngx_http_registry_cache_retry_with_new_token(ngx_http_request_t *r,
                                                       ngx_http_registry_cache_request_t &state) noexcept;
