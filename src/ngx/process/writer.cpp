// Writes batched off the request path: the filters queue what the upstream taught, and one
// write transaction per event loop iteration commits the lot (group commit). Posting the
// flush, rather than arming a timer, commits before this worker reads its next request, so
// a client's HEAD that follows its own miss is a hit, with no waiting for a timer.
#include "process/writer.h"
#include "process/flight.h"

#include "registry_cache/upstream_namespace.h"
#include "registry_cache/store_write.h"

#include <string>

namespace {

// A bound on memory when commits keep failing faster than requests arrive.
constexpr size_t max_pending = 4096;

// Room for one more element, growing geometrically as push_back would; throws bad_alloc.
template <typename T>
void make_room(std::vector<T> &v) {
    if (v.size() == v.capacity()) {
        v.reserve(v.empty() ? 16 : 2 * v.size());
    }
}

}  // namespace

void ngx_http_registry_cache_flush(ngx_http_registry_cache_t *cache, ngx_log_t *log) noexcept {
    ngx_http_registry_cache_worker_t *w = cache->worker;
    if (w == nullptr || w->pending.empty()) {
        return;
    }
    using registry_cache::StoreWrite;
    ngx_atomic_int_t records = 0, blobs = 0, manifests = 0;
    for (const auto &write : w->pending) {
        const bool record = write.kind == StoreWrite::Kind::record;
        records += record;
        blobs += record && write.object == StoreWrite::Object::blob;
        manifests += record && write.object == StoreWrite::Object::manifest;
    }
    ngx_atomic_int_t clears = static_cast<ngx_atomic_int_t>(w->pending.size()) - records;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0, "registry cache: committing %i records and %i clears",
                   records, clears);
    bool committed = false;
    try {
        std::string error;
        if (w->store == nullptr) {
            error = "the store is not open";
        } else if (std::uint64_t evicted = 0, unchanged = 0, unchanged_manifests = 0;
                   w->store->commit(w->pending, error, &evicted, &unchanged, &unchanged_manifests)) {
            committed = true;
            ngx_http_registry_cache_count(cache->sh->evictions, static_cast<ngx_atomic_int_t>(evicted));
            // A credentialed record that found a public link left it as it was: not recorded.
            ngx_http_registry_cache_count(cache->sh->recorded, blobs - static_cast<ngx_atomic_int_t>(unchanged));
            ngx_http_registry_cache_count(cache->sh->manifests_recorded,
                                          manifests - static_cast<ngx_atomic_int_t>(unchanged_manifests));
            ngx_http_registry_cache_count(cache->sh->cleared, clears);
        }
        if (!error.empty()) {
            ngx_http_registry_cache_count(cache->sh->errors);
            ngx_http_registry_cache_log_store_error(cache, log, "commit", error);
        }
    } catch (const std::exception &e) {
        ngx_http_registry_cache_count(cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, log, 0, "registry cache: commit failed: %s", e.what());
    }
    w->pending.clear();
    // Followers may look the store up again only now that the writes are visible.
    for (const registry_cache::FlightLead &flight : w->pending_flights) {
        ngx_http_registry_cache_land_flight(
            cache, flight, committed ? registry_cache::FlightState::recorded : registry_cache::FlightState::not_recorded);
    }
    w->pending_flights.clear();
}

void ngx_http_registry_cache_enqueue(ngx_http_registry_cache_t *cache,
                                     registry_cache::StoreWrite &&write, registry_cache::FlightLead flight,
                                     ngx_log_t *log) noexcept {
    ngx_http_registry_cache_worker_t *w = cache->worker;
    bool queued = false;
    if (w != nullptr && w->pending.size() < max_pending) {
        try {
            // Room for both first, so that a write never goes without its flight.
            make_room(w->pending);
            make_room(w->pending_flights);
            if (flight.key != 0) {
                w->pending_flights.push_back(flight);
            }
            w->pending.push_back(std::move(write));
            queued = true;
        } catch (...) {
            ngx_log_error(NGX_LOG_ERR, log, 0, "registry cache: recording failed (out of memory)");
        }
    }
    if (!queued) {
        ngx_http_registry_cache_count(cache->sh->errors);
        if (flight.key != 0) {
            ngx_http_registry_cache_land_flight(cache, flight, registry_cache::FlightState::not_recorded);
        }
        return;
    }
    if (!w->flush.posted) {
        ngx_post_event(&w->flush, &ngx_posted_events);
    }
}

// What an upstream answer taught becomes a write here, so that the filters that learn (the
// header filter, the verifying body filter) depend on the writer and never on each other.
namespace {

registry_cache::LinkScope scope_of(const ngx_http_registry_cache_request_t &state) noexcept {
    return state.asked.credentialed ? registry_cache::LinkScope::credentialed
                                    : registry_cache::LinkScope::public_access;
}

// The flight a leader lands when this record commits (flush, above), not when the request
// ends: followers look the store up again only once it holds what they wait for. A key of 0: none.
registry_cache::FlightLead landing_flight(const ngx_http_registry_cache_request_t &state,
                                          registry_cache::Lesson lesson) noexcept {
    if (state.flight.lead == 0 || state.flight.landed || lesson != registry_cache::Lesson::record) return {};
    return {state.flight.key, state.flight.lead};
}

void recording_failed(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    ngx_http_registry_cache_count(state.cache->sh->errors);
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: recording failed (out of memory)");
}

}  // namespace

void ngx_http_registry_cache_teach(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                   registry_cache::Lesson lesson,
                                   const registry_cache::BlobDescriptor &descriptor,
                                   std::string_view body) noexcept {
    if (lesson == registry_cache::Lesson::nothing || !state.lookup.may_record) {
        return;
    }
    const registry_cache::FlightLead flight = landing_flight(state, lesson);
    registry_cache::StoreWrite write;
    if (!registry_cache::make_store_write(lesson, ngx_http_registry_cache_stored_route(state), descriptor,
                                         scope_of(state), write, body)) {
        // Out of memory: nothing is recorded; the body (already judged) is not affected.
        recording_failed(r, state);
        return;
    }
    if (flight.key != 0) {
        state.flight.landed = true;
    }
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), flight, r->connection->log);
}

void ngx_http_registry_cache_teach_tag(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                       registry_cache::Lesson lesson,
                                       const registry_cache::TagRecord &tag) noexcept {
    // A push through the edge forgets the tag whatever else happened to the request.
    if (lesson == registry_cache::Lesson::nothing ||
        (!state.lookup.may_record && lesson == registry_cache::Lesson::record)) {
        return;
    }
    // Whether it is the tag's answer for every client, or maybe a list rewritten for this one.
    registry_cache::TagRecord learned = tag;
    learned.learned_naming_list = state.asked.accept_names_list;
    registry_cache::StoreWrite write;
    if (!registry_cache::make_tag_write(lesson, ngx_http_registry_cache_stored_route(state), learned, scope_of(state),
                                       write)) {
        recording_failed(r, state);
        return;
    }
    // A tag's revalidation lands with the tag renewed (and the manifest's link, enqueued
    // after it by the same request, commits with it).
    const registry_cache::FlightLead flight = landing_flight(state, lesson);
    if (flight.key != 0) {
        state.flight.landed = true;
    }
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), flight, r->connection->log);
}

void ngx_http_registry_cache_teach_manifest(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                           std::string_view digest, const registry_cache::BlobDescriptor &descriptor,
                                           std::string_view body) noexcept {
    if (!state.lookup.may_record) return;
    registry_cache::StoreWrite manifest;
    if (!registry_cache::make_manifest_write(state.asked.store_name, digest, descriptor, scope_of(state), body,
                                             manifest)) {
        recording_failed(r, state);
        return;
    }
    ngx_http_registry_cache_enqueue(state.cache, std::move(manifest), {}, r->connection->log);
}

void ngx_http_registry_cache_teach_tagged_manifest(ngx_http_request_t *r,
                                                   ngx_http_registry_cache_request_t &state,
                                                   std::string_view digest,
                                                   const registry_cache::BlobDescriptor &descriptor,
                                                   std::string_view body) noexcept {
    if (!state.lookup.may_record) {
        return;
    }
    registry_cache::StoreWrite manifest;
    registry_cache::TagRecord tag;
    tag.stored_at = descriptor.stored_at;
    tag.media_type = descriptor.media_type;
    tag.size = descriptor.size;
    if (!tag.digest.assign(digest) ||
        !registry_cache::make_manifest_write(state.asked.store_name, digest, descriptor, scope_of(state),
                                             body, manifest))
    {
        recording_failed(r, state);
        return;
    }
    // The manifest first: the tag is of use only once its manifest is held (one batch).
    ngx_http_registry_cache_enqueue(state.cache, std::move(manifest), {}, r->connection->log);
    ngx_http_registry_cache_teach_tag(r, state, registry_cache::Lesson::record, tag);
}

bool ngx_http_registry_cache_teach_pushed(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                         const registry_cache::PushedBlob &pushed) noexcept {
    ngx_http_registry_cache_worker_t *w = state.cache->worker;
    if (!state.lookup.may_record || w == nullptr || w->store == nullptr) return true;  // nothing to learn
    registry_cache::BlobDescriptor held;
    bool known = false;
    try {
        const registry_cache::Digest digest = registry_cache::parse_digest(pushed.digest).digest;
        if (pushed.from.empty()) {
            // An upload: the body the edge keeps of the digest says its size; a blob is
            // answered as application/octet-stream, as distribution answers a HEAD of one.
            registry_cache::BodyRecord body;
            if (w->store->lookup_body_record(digest, body) == registry_cache::LookupStatus::hit) {
                held.size = body.size;
                known = held.media_type.assign("application/octet-stream");
            }
        } else {
            // A mount: its source's link, in the namespace the answer was placed in.
            std::string_view ns, name;
            if (registry_cache::split_namespace(state.asked.store_name, ns, name)) {
                const registry_cache::LookupResult source =
                    w->store->lookup(registry_cache::in_namespace(ns, pushed.from), digest);
                if (source.status == registry_cache::LookupStatus::hit) {
                    held = source.descriptor;
                    known = true;
                }
            }
        }
    } catch (...) {
        recording_failed(r, state);
        return true;
    }
    if (known) ngx_http_registry_cache_teach_pushed_link(r, state, pushed.digest, held);
    return known;
}

void ngx_http_registry_cache_teach_pushed_link(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                              std::string_view digest,
                                              const registry_cache::BlobDescriptor &descriptor) noexcept {
    if (!state.lookup.may_record) return;
    registry_cache::StoreWrite write;
    try {
        write.kind = registry_cache::StoreWrite::Kind::record;
        write.object = registry_cache::StoreWrite::Object::blob;
        write.repository.assign(state.asked.store_name);
        write.digest.assign(digest);
        write.descriptor = descriptor;
        write.link.scope = scope_of(state);
        write.link.stored_at = static_cast<std::uint64_t>(ngx_time());
        write.descriptor.stored_at = write.link.stored_at;
    } catch (...) {
        recording_failed(r, state);
        return;
    }
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), {}, r->connection->log);
}

void ngx_http_registry_cache_teach_ping(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                        std::string_view host, registry_cache::PingRecord &&ping) noexcept {
    ngx_http_registry_cache_worker_t *w = state.cache->worker;
    if (!state.lookup.may_record || w == nullptr || w->store == nullptr) {
        return;
    }
    registry_cache::StoreWrite write;
    try {
        registry_cache::PingRecord held;
        // Kept per upstream and per Host (the answer may name either).
        std::string stored = registry_cache::in_namespace(state.asked.upstream_namespace, host);
        if (w->store->lookup_ping(stored, held) == registry_cache::LookupStatus::hit &&
            registry_cache::same_answer(held, ping)) {
            return;
        }
        write.object = registry_cache::StoreWrite::Object::ping;
        write.repository = std::move(stored);
        write.ping = std::move(ping);
    } catch (...) {
        recording_failed(r, state);
        return;
    }
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), {}, r->connection->log);
}

void ngx_http_registry_cache_teach_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                        std::string_view digest, std::uint64_t size, bool stored) noexcept {
    if (stored) {
        ngx_http_registry_cache_count(state.cache->sh->bodies_stored);
    }
    registry_cache::StoreWrite write;
    try {
        write.object = registry_cache::StoreWrite::Object::blob_body;
        write.digest.assign(digest);
        write.descriptor.size = size;
        write.link.stored_at = static_cast<std::uint64_t>(ngx_time());
    } catch (...) {
        recording_failed(r, state);
        return;
    }
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), {}, r->connection->log);
}

void ngx_http_registry_cache_forget_body(ngx_http_registry_cache_t *cache, std::string_view digest,
                                         ngx_log_t *log) noexcept {
    ngx_http_registry_cache_worker_t *w = cache->worker;
    if (w == nullptr || w->blobs == nullptr) {
        return;
    }
    w->blobs->remove(registry_cache::parse_digest(digest).digest);
    registry_cache::StoreWrite forget;
    try {
        forget.kind = registry_cache::StoreWrite::Kind::clear_link;
        forget.object = registry_cache::StoreWrite::Object::blob_body;
        forget.digest.assign(digest);
    } catch (...) {
        return;
    }
    ngx_http_registry_cache_enqueue(cache, std::move(forget), {}, log);
}

void ngx_http_registry_cache_log_store_error(ngx_http_registry_cache_t *cache, ngx_log_t *log,
                                             const char *what, const std::string &error) noexcept {
    ngx_http_registry_cache_worker_t *w = cache->worker;
    if (w != nullptr) {
        if (w->last_error_log == ngx_time()) {
            return;
        }
        w->last_error_log = ngx_time();
    }
    ngx_log_error(NGX_LOG_ERR, log, 0, "registry cache: \"%V\": %s failed: %s", &cache->path, what,
                  error.c_str());
}
