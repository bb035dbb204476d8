// Whether a request carries a credential of any kind. What the upstream answers to such a
// request may depend on who asked, so what it teaches is never served to anonymous clients.
#pragma once

#include <string_view>

#include "registry_cache/descriptor.h"

namespace registry_cache {

// What the glue saw of a request; presence is enough: a header proves nothing here, it only
// makes the answer possibly personal.
struct RequestCredentials {
    bool authorization = false;        // Authorization
    bool proxy_authorization = false;  // Proxy-Authorization (forwarded by proxy_pass)
    bool cookie = false;               // Cookie
    bool client_certificate = false;   // a TLS client certificate was presented
    std::string_view query;            // the query string as sent, without '?'
    // A push's own parameters (`digest`, `mount`, `from`, and the registry's `_state` of an
    // upload) name objects, not clients: they count only where this is set.
    bool push = false;
};

// True when the request carries anything that can identify its sender to the upstream:
// any of the headers above, a client certificate, or a query parameter other than
// containerd's `ns` naming a host (the registry a mirror is asked about, the same for every
// client). A query parameter can carry a token (`?token=...`, signed URLs), so unknown ones
// count as credentials; parameters are split at '&' and at ';'.
bool carries_credentials(const RequestCredentials& request) noexcept;

// Whether a link learned with `scope` may answer a request: one learned without credentials
// answers anyone; one learned with credentials only a request whose own credential the edge
// proved grants pull on that repository (a Bearer token checked as the registry checks it:
// the upstream would answer that client as it answered the one that taught the link).
constexpr bool link_servable(LinkScope scope, bool proven) noexcept {
    return scope == LinkScope::public_access || (scope == LinkScope::credentialed && proven);
}

}  // namespace registry_cache
