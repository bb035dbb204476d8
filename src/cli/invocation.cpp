#include <cstdio>

#include "commands.h"
#include "registry_cache/reference.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache::cli {

void report_error(const Invocation& call, const std::string& what) {
    std::fprintf(stderr, "registry-cache: %s: %s\n", call.path.c_str(), what.c_str());
}

std::string stored_repository(const Invocation& call, const std::string& name) {
    if (!is_valid_name(name)) {
        std::fprintf(stderr, "registry-cache: not a valid repository name: %s\n", name.c_str());
        return {};
    }
    // A namespace as the store keeps it: the operator's (registry_cache_namespace), and with
    // --host the Host the edge forwarded: "ns host", the operator's part perhaps empty.
    if (!call.ns.empty() && !is_valid_namespace(call.ns)) {
        std::fprintf(stderr, "registry-cache: not a valid namespace: %s\n", call.ns.c_str());
        return {};
    }
    if (call.host.empty()) return in_namespace(call.ns, name);
    const std::string hosted = hosted_namespace(call.ns, call.host);
    if (hosted.empty()) {
        std::fprintf(stderr, "registry-cache: not a valid host: %s\n", call.host.c_str());
        return {};
    }
    return in_namespace(hosted, name);
}

}  // namespace registry_cache::cli
