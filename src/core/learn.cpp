#include "registry_cache/learn.h"
#include "registry_cache/reference.h"
#include "registry_cache/auth/json.h"
#include "registry_cache/hasher.h"

#include <cstdint>

namespace registry_cache {

std::string_view digest_text(const Route& route) noexcept {
    // The reference of a blob route is exactly the digest's text, already validated.
    return route.by_digest ? route.reference : std::string_view{};
}

bool same_object(const Route& asked, std::string_view upstream_path) noexcept {
    Route sent = parse_route(upstream_path);
    return sent.error == RouteError::none && sent.kind == asked.kind && sent.name == asked.name &&
           sent.reference == asked.reference;
}

bool is_recordable_blob(const Route& route) noexcept {
    return route.error == RouteError::none && route.kind == RouteKind::blob && route.by_digest &&
           is_cacheable(route.digest.algorithm);
}

bool is_recordable_manifest(const Route& route) noexcept {
    return route.error == RouteError::none && route.kind == RouteKind::manifest && route.by_digest &&
           is_cacheable(route.digest.algorithm);
}

bool is_tag_route(const Route& route) noexcept {
    return route.error == RouteError::none && route.kind == RouteKind::manifest && !route.by_digest &&
           is_valid_tag(route.reference);
}

namespace {

// A query parameter's value, with only the percent-encodings a digest or a repository name
// may need (':' and '/', as Go's url.Values writes them): anything else encoded is no value.
bool query_value(std::string_view query, std::string_view name, std::string& out) {
    out.clear();
    while (!query.empty()) {
        const std::size_t end = query.find('&');
        const std::string_view param = query.substr(0, end);
        query = end == std::string_view::npos ? std::string_view{} : query.substr(end + 1);
        const std::size_t eq = param.find('=');
        if (eq == std::string_view::npos || param.substr(0, eq) != name) continue;
        if (!out.empty()) return false;  // twice: which one did the upstream read?
        const std::string_view raw = param.substr(eq + 1);
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] != '%') {
                out += raw[i];
                continue;
            }
            const std::string_view code = raw.substr(i + 1, 2);
            if (code == "3A" || code == "3a") {
                out += ':';
            } else if (code == "2F" || code == "2f") {
                out += '/';
            } else {
                return false;
            }
            i += 2;
        }
        if (out.empty()) return false;
    }
    return !out.empty();
}

}  // namespace

bool learn_push(const Route& route, Method method, std::string_view query, const UpstreamAnswer& answer,
                PushedBlob& out) {
    out = PushedBlob{};
    if (route.error != RouteError::none || route.kind != RouteKind::blob_upload || answer.status != 201 ||
        answer.docker_content_digest.empty()) {
        return false;
    }
    const Route sent = parse_route(answer.path);
    if (sent.kind != RouteKind::blob_upload || sent.name != route.name) return false;
    std::string digest;
    if (method == Method::put) {
        if (!query_value(query, "digest", digest)) return false;
    } else if (method == Method::post && query_value(query, "mount", digest)) {
        if (!query_value(query, "from", out.from) || !is_valid_name(out.from)) {
            out.from.clear();
            return false;
        }
    } else if (method == Method::post) {
        // A monolithic upload: the body with the POST that opens it.
        if (!query_value(query, "digest", digest)) return false;
    } else {
        return false;
    }
    const DigestParse parsed = parse_digest(digest);
    if (parsed.status != DigestStatus::ok || !is_cacheable(parsed.digest.algorithm) ||
        digest != answer.docker_content_digest) {
        out.from.clear();
        return false;
    }
    out.digest = std::move(digest);
    return true;
}

bool learn_pushed_manifest(const Route& route, Method method, const UpstreamAnswer& answer, std::string_view body,
                           std::string_view content_type, BlobDescriptor& out) {
    out = BlobDescriptor{};
    if (route.error != RouteError::none || route.kind != RouteKind::manifest || method != Method::put ||
        answer.status != 201 || body.empty() || !same_object(route, answer.path)) {
        return false;
    }
    const DigestParse answered = parse_digest(answer.docker_content_digest);
    if (answered.status != DigestStatus::ok || !is_cacheable(answered.digest.algorithm) ||
        (route.by_digest && route.reference != answer.docker_content_digest) ||
        digest_of(answered.digest.algorithm, body) != answer.docker_content_digest) {
        return false;
    }
    json::Value doc;
    std::string why;
    if (!json::parse(body, doc, why) || doc.type != json::Type::object) return false;
    const json::Value* media_type = doc.find("mediaType");
    if (media_type == nullptr || !media_type->is_string() || media_type->text != content_type ||
        !out.media_type.assign(media_type->text)) {
        out = BlobDescriptor{};
        return false;
    }
    out.size = body.size();
    return true;
}

bool learn_ping(const Route& route, Method method, const PingAsked& asked, const UpstreamAnswer& answer,
                std::uint64_t now, PingRecord& ping) {
    if (route.error != RouteError::none || route.kind != RouteKind::base || asked.credentialed ||
        asked.forwarding || !is_ping_host(asked.host) ||
        (method != Method::get && method != Method::head) || !same_object(route, answer.path) ||
        !is_replayable_ping(answer.status, answer.www_authenticate, answer.api_version)) {
        return false;
    }
    ping.status = answer.status;
    ping.stored_at = now;
    ping.www_authenticate.assign(answer.www_authenticate);
    ping.api_version.assign(answer.api_version);
    return true;
}

Lesson learn_tag(const Route& route, Method method, const UpstreamAnswer& answer,
                 std::uint64_t now, TagRecord& tag) noexcept {
    if (!is_tag_route(route) || !same_object(route, answer.path)) return Lesson::nothing;
    if (method == Method::put) return answer.status == 201 ? Lesson::clear_link : Lesson::nothing;
    if ((method != Method::head && method != Method::get) || answer.status != 200 ||
        answer.content_encoded || !tag.digest.assign(answer.docker_content_digest) ||
        !tag.media_type.assign(answer.content_type)) {
        return Lesson::nothing;
    }
    tag.stored_at = now;
    tag.size = answer.content_length > 0 ? static_cast<std::uint64_t>(answer.content_length) : 0;
    return Lesson::record;
}

Lesson learn(const Route& route, Method method, const UpstreamAnswer& answer,
             std::uint64_t now, BlobDescriptor& descriptor) noexcept {
    const bool manifest = is_recordable_manifest(route);
    if ((!is_recordable_blob(route) && !manifest) || !same_object(route, answer.path)) {
        return Lesson::nothing;
    }
    if (method == Method::del) {
        return answer.status == 202 ? Lesson::clear_link : Lesson::nothing;
    }
    // A manifest is recorded with its body, so only from the bytes (learn_verified).
    if (manifest) {
        return Lesson::nothing;
    }
    if (method != Method::head && method != Method::get) {
        return Lesson::nothing;
    }
    if (answer.status != 200 || answer.docker_content_digest != digest_text(route) ||
        answer.content_length < 0 || answer.content_encoded ||
        !descriptor.media_type.assign(answer.content_type)) {
        return Lesson::nothing;
    }
    descriptor.size = static_cast<std::uint64_t>(answer.content_length);
    descriptor.stored_at = now;
    return Lesson::record;
}

Lesson learn_verified(const Route& route, std::string_view computed, std::uint64_t bytes,
                      std::string_view content_type, std::uint64_t now,
                      BlobDescriptor& descriptor) noexcept {
    if ((!is_recordable_blob(route) && !is_recordable_manifest(route)) || computed != digest_text(route) ||
        bytes > static_cast<std::uint64_t>(INT64_MAX) || !descriptor.media_type.assign(content_type)) {
        return Lesson::nothing;
    }
    descriptor.size = bytes;
    descriptor.stored_at = now;
    return Lesson::record;
}

}  // namespace registry_cache
