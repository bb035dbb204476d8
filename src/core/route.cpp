#include "registry_cache/route.h"

#include "registry_cache/reference.h"

namespace registry_cache {
namespace {

constexpr std::string_view api_prefix = "/v2/";

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Splits "<name><marker>" into the name when `prefix` ends with marker ("/blobs", ...).
bool take_name(std::string_view prefix, std::string_view marker, std::string_view& name) noexcept {
    if (!ends_with(prefix, marker)) return false;
    name = prefix.substr(0, prefix.size() - marker.size());
    return true;
}

Route with_digest_reference(Route route) noexcept {
    DigestParse parsed = parse_digest(route.reference);
    if (parsed.status != DigestStatus::ok) {
        route.error = RouteError::digest_invalid;
        return route;
    }
    route.digest = parsed.digest;
    route.by_digest = true;
    return route;
}

// The name is checked before the reference, as distribution does.
Route validate(Route route) noexcept {
    if (!is_valid_name(route.name)) {
        route.error = RouteError::name_invalid;
        return route;
    }
    switch (route.kind) {
        case RouteKind::blob:
            return with_digest_reference(route);
        case RouteKind::manifest:
            if (route.reference.find(':') != std::string_view::npos) {
                return with_digest_reference(route);
            }
            // A reference that is neither a digest nor a tag is no manifest route we know:
            // the upstream answers it, and nothing about it is ever cached.
            if (!is_valid_tag(route.reference)) route.kind = RouteKind::other;
            return route;
        default:
            return route;
    }
}

}  // namespace

std::string_view strip_query(std::string_view target) noexcept {
    return target.substr(0, target.find('?'));
}

Route parse_route(std::string_view path) noexcept {
    Route route;
    if (path.substr(0, api_prefix.size()) != api_prefix) return route;

    std::string_view rest = path.substr(api_prefix.size());
    if (rest.empty()) {
        route.kind = RouteKind::base;
        return route;
    }
    if (rest == "_catalog") {
        route.kind = RouteKind::catalog;
        return route;
    }

    // Names may hold '/', references and upload ids never do: the last segment is the
    // reference and the segments before it say which route this is.
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) return route;
    std::string_view prefix = rest.substr(0, slash);
    std::string_view last = rest.substr(slash + 1);

    if (take_name(prefix, "/blobs/uploads", route.name)) {
        route.kind = RouteKind::blob_upload;
    } else if (take_name(prefix, "/blobs", route.name)) {
        route.kind = RouteKind::blob;
    } else if (take_name(prefix, "/manifests", route.name)) {
        route.kind = RouteKind::manifest;
    } else if (last == "list" && take_name(prefix, "/tags", route.name)) {
        route.kind = RouteKind::tags_list;
    } else {
        return route;
    }
    route.reference = last;
    return validate(route);
}

}  // namespace registry_cache
