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
    // A namespace as the store keeps it: the operator's, or "ns host" when the edge forwarded
    // the client's Host (each part valid alone).
    if (!call.ns.empty()) {
        const std::size_t space = call.ns.find(' ');
        const bool valid = space == std::string::npos
                               ? is_valid_namespace(call.ns)
                               : is_valid_namespace(call.ns.substr(0, space)) &&
                                     hosted_namespace(call.ns.substr(0, space), call.ns.substr(space + 1)) == call.ns;
        if (!valid) {
            std::fprintf(stderr, "registry-cache: not a valid namespace: %s\n", call.ns.c_str());
            return {};
        }
    }
    return in_namespace(call.ns, name);
}

}  // namespace registry_cache::cli
