// A client's own Basic credential as proof (registry_cache_credential_ttl): one that the
// upstream answered 200 for a repository proves that repository for the TTL, remembered per
// worker as a keyed hash (registry_cache::auth::CredentialMemory), never as the credential.
#pragma once

#include "state/request.h"

#include <string_view>

// The credential of the request's one `Authorization: Basic <credential>` header, read as
// the registry reads it (the scheme in any case, one space); empty for anything else, or
// when there are two Authorization headers.
std::string_view ngx_http_registry_cache_basic_credential(ngx_http_request_t *r) noexcept;

// Whether the request's Basic credential proves `rlcf`'s memory accepted it for the route's
// repository; either way the request is set to teach the memory from the upstream's answer.
bool ngx_http_registry_cache_basic_proves(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
                                          ngx_http_registry_cache_request_t &state) noexcept;

// The upstream answered `status` to the request as it was passed: a 200 to a GET or HEAD in
// a repository is remembered as the credential's proof there, for the TTL.
void ngx_http_registry_cache_basic_answered(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                            ngx_uint_t status) noexcept;
