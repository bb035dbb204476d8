// The one Authorization header a client's proof is read from, as the registry reads it (the
// scheme in any case, then one space); bearer.cpp and basic.cpp read their credentials here.
#pragma once

#include "nginx_headers.h"

#include <string_view>

// What follows "<scheme> " in the request's Authorization header; empty when there is none,
// when its scheme is another, or when there are two (which would the upstream read?).
inline std::string_view ngx_http_registry_cache_authorization_credential(ngx_http_request_t *r,
                                                                         std::string_view scheme) noexcept {
    std::string_view value;
    if (r->headers_in.authorization == nullptr ||
        ngx_http_registry_cache_find_header(r->headers_in.headers, "Authorization", value) != 1 ||
        value.size() <= scheme.size() + 1 || value[scheme.size()] != ' ' ||
        ngx_strncasecmp(reinterpret_cast<u_char *>(const_cast<char *>(value.data())),
                        reinterpret_cast<u_char *>(const_cast<char *>(scheme.data())), scheme.size()) != 0) {
        return {};
    }
    return value.substr(scheme.size() + 1);
}
