// Any bytes as a request path: parse_route must not crash, and what it accepts must hold
// to the grammar it promises (the cache builds its keys from these parts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry_cache/conditional.h"
#include "registry_cache/keys.h"
#include "registry_cache/reference.h"
#include "registry_cache/route.h"

using namespace registry_cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    Route route = parse_route(strip_query(input));
    if (route.error == RouteError::none && route.kind != RouteKind::base &&
        route.kind != RouteKind::catalog && route.kind != RouteKind::other) {
        if (!is_valid_name(route.name)) std::abort();
        if (route.by_digest) {
            if (parse_digest(route.reference).status != DigestStatus::ok) std::abort();
            Key key = link_key(route.name, route.digest);
            if (is_cacheable(route.digest.algorithm) == key.empty()) std::abort();
        }
    }
    // The same bytes as If-Match / If-None-Match: no crash whatever they hold.
    (void)evaluate_preconditions(input, input, "\"sha256:abc\"");
    return 0;
}
