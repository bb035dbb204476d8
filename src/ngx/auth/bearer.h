// A client's own Bearer token as proof (registry_cache_token_trust): checked here as the
// registry checks it (registry_cache::auth), remembered per worker until it expires, so that
// a hit does not pay a signature check each time.
#pragma once

#include "nginx_headers.h"

#include <string_view>

#include "registry_cache/auth/token.h"

// True when the request carries exactly one Authorization header, a Bearer token that
// `trust` accepts now and that grants pull on `repository`.
bool ngx_http_registry_cache_bearer_proves(ngx_http_request_t *r, const registry_cache::auth::TokenTrust &trust,
                                           std::string_view repository) noexcept;
