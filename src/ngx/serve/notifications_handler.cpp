// registry_cache_notifications: the registry's webhook (its notifications.endpoints) tells
// the edge what changed upstream. Deletes clear what the cache holds as a purge does, a
// manifest pushed under a tag forgets the tag (the next pull revalidates it), and a blob
// pushed or mounted records its link when the operator asked for that. Nothing is applied
// from a request without the endpoint's token, when the location names one.
#include "serve/serve.h"
#include "auth/authorization.h"
#include "process/process.h"
#include "process/upstream_namespace.h"
#include "reply/headers.h"
#include "state/zone_lock.h"

#include <openssl/crypto.h>

#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/deletions.h"
#include "registry_cache/flight.h"
#include "registry_cache/notifications.h"
#include "registry_cache/purge.h"
#include "registry_cache/store.h"
#include "registry_cache/upstream_namespace.h"

namespace {

ngx_str_t json_type = ngx_string("application/json; charset=utf-8");

// The largest envelope taken, and the most events in one: the registry sends events in
// small batches, and each event is a write transaction here (a delete of a digest, a pass
// over the blob links).
constexpr std::size_t max_envelope = 1024 * 1024;
constexpr std::size_t max_events = 1000;

ngx_int_t answer(ngx_http_request_t *r, ngx_uint_t status, std::string_view body) {
    r->headers_out.status = status;
    return ngx_http_registry_cache_send_body(r, json_type, body.data(), body.size());
}

// The request's body, whole, from memory or from its temporary file; false when it cannot be read.
bool body_of(ngx_http_request_t *r, std::string &out) {
    if (r->request_body == nullptr) return true;
    for (const ngx_chain_t *cl = r->request_body->bufs; cl != nullptr; cl = cl->next) {
        const ngx_buf_t *b = cl->buf;
        if (out.size() > max_envelope) return true;  // refused by the caller
        if (b->in_file) {
            const auto size = static_cast<std::size_t>(b->file_last - b->file_pos);
            const std::size_t at = out.size();
            out.resize(at + size);
            const ssize_t n = ngx_read_file(b->file, reinterpret_cast<u_char *>(out.data() + at), size, b->file_pos);
            if (n < 0 || static_cast<std::size_t>(n) != size) return false;
        } else if (b->pos != nullptr) {
            out.append(reinterpret_cast<const char *>(b->pos), static_cast<std::size_t>(b->last - b->pos));
        }
    }
    return true;
}

bool authorized(ngx_http_request_t *r, const ngx_http_registry_cache_loc_conf_t &rlcf) noexcept {
    if (rlcf.notify_secret.len == 0) return true;
    // One Authorization header, its Bearer token compared in constant time.
    const std::string_view token = ngx_http_registry_cache_authorization_credential(r, "Bearer");
    return !token.empty() && token.size() == rlcf.notify_secret.len &&
           CRYPTO_memcmp(token.data(), rlcf.notify_secret.data, token.size()) == 0;
}

// The names an event reaches: the repository in the location's namespace and, with the Host
// the registry was asked by (a push or a delete through an edge that forwards it), there too.
std::vector<std::string> names_of(const registry_cache::RegistryEvent &e, std::string_view ns) {
    std::vector<std::string> names{registry_cache::in_namespace(ns, e.repository)};
    const std::string hosted = registry_cache::hosted_namespace(ns, registry_cache::host_name_of(e.host));
    if (!hosted.empty()) names.push_back(registry_cache::in_namespace(hosted, e.repository));
    return names;
}

// Deletions remembered for events out of order (registry_cache/deletions.h): of a digest in
// a repository, or (an empty digest) of the whole repository.
void remember_deletion(ngx_http_registry_cache_t *cache, std::string_view name, std::string_view digest,
                       std::int64_t at) noexcept {
    ngx_http_registry_cache_zone_lock lock(cache);
    registry_cache::remember_deletion(cache->sh->deletions, registry_cache::flight_key(name, digest), at);
}

bool deleted_since(ngx_http_registry_cache_t *cache, std::string_view name, std::string_view digest,
                   std::int64_t at) noexcept {
    ngx_http_registry_cache_zone_lock lock(cache);
    const registry_cache::DeletionMemory &deletions = cache->sh->deletions;
    return registry_cache::deleted_since(deletions, registry_cache::flight_key(name, digest), at) ||
           registry_cache::deleted_since(deletions, registry_cache::flight_key(name, {}), at);
}

// Applies one event; false when the store failed (the registry then sends the batch again).
bool apply(ngx_http_request_t *r, const ngx_http_registry_cache_loc_conf_t &rlcf, ngx_http_registry_cache_t *cache,
           const registry_cache::RegistryEvent &e, std::string_view ns, registry_cache::PurgeCount &count) {
    using Action = registry_cache::RegistryEvent::Action;
    const std::vector<std::string> names = names_of(e, ns);
    registry_cache::PurgeTarget target;
    target.name = e.repository;
    target.reference = e.reference;
    registry_cache::PurgeCount one;
    switch (e.action) {
        case Action::forget_repository:
            target.kind = registry_cache::PurgeTarget::Kind::repository;
            remember_deletion(cache, names.front(), {}, e.at);
            break;
        case Action::forget_tag:
            target.kind = registry_cache::PurgeTarget::Kind::tag;
            break;
        case Action::forget_digest: {
            // The registry does not say whether a manifest or a blob went: both are forgotten.
            target.digest = registry_cache::parse_digest(e.reference).digest;
            target.kind = registry_cache::PurgeTarget::Kind::manifest;
            if (!ngx_http_registry_cache_forget(r, cache, names, target, one)) return false;
            count += one;
            one = {};
            target.kind = registry_cache::PurgeTarget::Kind::blob;
            remember_deletion(cache, names.front(), e.reference, e.at);
            break;
        }
        case Action::learn_blob: {
            if (rlcf.notify_pushed == 0 || cache->worker == nullptr || cache->worker->store == nullptr) return true;
            if (deleted_since(cache, names.front(), e.reference, e.at)) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "registry cache: notifications: a push of %s older than its deletion: ignored",
                              e.reference.c_str());
                return true;
            }
            registry_cache::StoreWrite w;
            w.kind = registry_cache::StoreWrite::Kind::record;
            w.object = registry_cache::StoreWrite::Object::blob;
            w.repository = names.front();
            w.digest = e.reference;
            w.descriptor.size = e.size;
            if (!w.descriptor.media_type.assign(e.media_type)) return true;
            w.link.scope = rlcf.notify_pushed == 2 ? registry_cache::LinkScope::public_access
                                                   : registry_cache::LinkScope::credentialed;
            w.link.stored_at = static_cast<std::uint64_t>(ngx_time());
            w.descriptor.stored_at = w.link.stored_at;
            std::string error;
            if (!cache->worker->store->commit({w}, error)) {
                ngx_http_registry_cache_count(cache->sh->errors);
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "registry cache: recording a pushed blob failed: %s", error.c_str());
                return false;
            }
            ngx_http_registry_cache_count(cache->sh->recorded);
            // A deletion another worker took between the look above and this commit has
            // forgotten the link before it was written: it goes now.
            if (deleted_since(cache, names.front(), e.reference, e.at)) {
                target.kind = registry_cache::PurgeTarget::Kind::blob;
                target.digest = registry_cache::parse_digest(e.reference).digest;
                registry_cache::PurgeCount late;
                if (!ngx_http_registry_cache_forget(r, cache, {names.front()}, target, late)) return false;
            }
            return true;
        }
    }
    if (!ngx_http_registry_cache_forget(r, cache, names, target, one)) return false;
    count += one;
    return true;
}

void received(ngx_http_request_t *r) {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    auto *cache = static_cast<ngx_http_registry_cache_t *>(rlcf->shm_zone->data);
    std::string body;
    std::vector<registry_cache::RegistryEvent> events;
    std::size_t skipped = 0;
    std::string why;
    if (!body_of(r, body)) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    if (body.size() > max_envelope) {  // chunked: its length was not declared
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }
    if (!registry_cache::read_registry_events(body, events, skipped, why)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: notifications: not an envelope of events: %s",
                      why.c_str());
        ngx_http_finalize_request(r, answer(r, NGX_HTTP_BAD_REQUEST,
                                            R"({"errors":[{"code":"UNSUPPORTED","message":"not an envelope of events"}]})"));
        return;
    }
    // The namespace of the location (a constant, for the registry that sends here).
    ngx_http_registry_cache_request_t placed{};
    switch (ngx_http_registry_cache_place(r, *rlcf, placed)) {
        case ngx_http_registry_cache_namespace_t::placed:
            break;
        case ngx_http_registry_cache_namespace_t::invalid:
            ngx_http_finalize_request(r, answer(r, NGX_HTTP_BAD_REQUEST,
                                                R"({"errors":[{"code":"NAME_INVALID","message":"no namespace"}]})"));
            return;
        case ngx_http_registry_cache_namespace_t::error:
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
    }
    if (events.size() > max_events) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: notifications: %uz events in one envelope, more than %uz: refused",
                      events.size(), max_events);
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }
    registry_cache::PurgeCount count;
    for (const registry_cache::RegistryEvent &e : events) {
        if (!apply(r, *rlcf, cache, e, placed.asked.upstream_namespace, count)) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }
    if (skipped != 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: notifications: %uz events with an invalid repository, digest or tag ignored",
                      skipped);
    }
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "registry cache: notifications: %uz events applied: %uL blob links, %uL manifest links, %uL tags "
                  "forgotten",
                  events.size(), count.blob_links, count.manifest_links, count.tags);
    ngx_http_finalize_request(r, answer(r, NGX_HTTP_OK, registry_cache::render_purge_count(count)));
}

void received_safely(ngx_http_request_t *r) noexcept {
    try {
        received(r);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: notifications: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

}  // namespace

ngx_int_t ngx_http_registry_cache_notifications_handler(ngx_http_request_t *r) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    if (r->method != NGX_HTTP_POST) {
        static ngx_str_t allow_key = ngx_string("Allow");
        static ngx_str_t allow = ngx_string("POST");
        if (!ngx_http_registry_cache_add_header(r, allow_key, allow)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_HTTP_NOT_ALLOWED;
    }
    if (!authorized(r, *rlcf)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: notifications without the endpoint's token: nothing applied");
        const ngx_int_t rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) return rc;
        return answer(r, NGX_HTTP_UNAUTHORIZED,
                      R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
    }
    // The registry's batches are small: a body larger than this is no batch of its (and
    // would be read whole, then parsed, in memory).
    if (r->headers_in.content_length_n > static_cast<off_t>(max_envelope)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: notifications: a body of %O bytes, more than %uz: refused",
                      r->headers_in.content_length_n, max_envelope);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    r->request_body_in_single_buf = 1;
    const ngx_int_t rc = ngx_http_read_client_request_body(r, received_safely);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
    return NGX_DONE;
}
