// Reading an operator's purge and writing its answer (purge.h).
#include "registry_cache/purge.h"

#include "registry_cache/reference.h"

namespace registry_cache {

RouteError parse_purge(std::string_view path, PurgeTarget& out) {
    out = PurgeTarget{};
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    // The object forms, through the same parser as /v2/ requests (their rules are one).
    std::string v2 = "/v2/";
    v2.append(path);
    const Route route = parse_route(v2);
    if (route.kind == RouteKind::blob || route.kind == RouteKind::manifest) {
        if (route.error != RouteError::none) return route.error;
        // Views into `path`, not into the local copy: same offsets past "/v2/".
        const auto in_path = [&](std::string_view part) {
            return path.substr(static_cast<std::size_t>(part.data() - v2.data()) - 4, part.size());
        };
        out.name = in_path(route.name);
        out.reference = in_path(route.reference);
        if (route.by_digest) {
            out.digest = parse_digest(out.reference).digest;
            out.kind = route.kind == RouteKind::blob ? PurgeTarget::Kind::blob : PurgeTarget::Kind::manifest;
        } else {
            if (route.kind == RouteKind::blob || !is_valid_tag(out.reference)) return RouteError::name_invalid;
            out.kind = PurgeTarget::Kind::tag;
        }
        return RouteError::none;
    }
    if (!is_valid_name(path)) return RouteError::name_invalid;
    out.kind = PurgeTarget::Kind::repository;
    out.name = path;
    return RouteError::none;
}

std::string render_purge_count(const PurgeCount& c) {
    std::string out = "{\"purged\":{\"blob_links\":";
    out += std::to_string(c.blob_links);
    out += ",\"manifest_links\":";
    out += std::to_string(c.manifest_links);
    out += ",\"tags\":";
    out += std::to_string(c.tags);
    out += ",\"manifest_bodies\":";
    out += std::to_string(c.manifest_bodies);
    out += ",\"blob_bodies\":";
    out += std::to_string(c.blob_bodies);
    out += "}}\n";
    return out;
}

}  // namespace registry_cache
