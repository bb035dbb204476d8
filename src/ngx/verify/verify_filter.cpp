// Verified bytes: the body of every 200 to a GET that names a digest is hashed as it streams
// to the client, on the event loop or, with `registry_cache_verify threads`, in an nginx
// thread pool while the worker goes on relaying. The bytes go on while they are hashed, all
// but the last: those pass only once the whole body hashed to the digest and its length is
// the declared one. Otherwise the client's connection is cut before the response completes (a
// failed transfer, never a complete 200 with wrong bytes), nothing is recorded, and a
// proxy_cache of the same location is told not to keep it. A body the upstream ends short is
// a mismatch too; one the client walks away from is not.
//
// This file is the filter itself; verify_pieces.cpp keeps the buffers, verify_hashing.cpp
// hashes and judges them (verify.h).
#include "verify/verify.h"
#include "process/process.h"
#include "process/request_state.h"
#include "process/writer.h"

#include <new>
#include <string>
#include <vector>

using namespace registry_cache_verify;

namespace {

ngx_http_output_body_filter_pt next_body_filter;

void destroy(void *data) noexcept {
    static_cast<verify_t *>(data)->~verify_t();
}

// Makes room under blobs_max_size for `length` more bytes: the bodies least recently used go,
// their records in one transaction, then their files. False when it could not.
bool make_room(verify_t &v, std::uint64_t total, std::uint64_t length) {
    ngx_http_registry_cache_t *cache = v.state->cache;
    ngx_http_registry_cache_worker_t *w = cache->worker;
    const auto cap = static_cast<std::uint64_t>(cache->blobs_max_size);
    if (length > cap) {
        return false;
    }
    if (total + length <= cap) {
        return true;
    }
    // What this worker learned and has not committed yet (a body served again, renewed) must
    // count before the least recently used are chosen.
    ngx_http_registry_cache_flush(cache, v.r->connection->log);
    std::vector<std::string> removed;
    std::string error;
    if (!w->store->evict_blob_bodies(cap - length, removed, error)) {
        ngx_http_registry_cache_count(cache->sh->errors);
        ngx_http_registry_cache_log_store_error(cache, v.r->connection->log, "evicting blob bodies", error);
        return false;
    }
    for (const std::string &digest : removed) {
        w->blobs->remove(registry_cache::parse_digest(digest).digest);
    }
    ngx_http_registry_cache_count(cache->sh->bodies_evicted, static_cast<ngx_atomic_int_t>(removed.size()));
    return true;
}

// A blob's 200 to a GET, of a declared length that fits in blobs_max_size, is copied to a
// temporary file of the store as it is hashed (the least recently used bodies make room). Any
// failure here costs the copy, never the transfer.
void start_keeping_blob(verify_t &v, const registry_cache::UpstreamAnswer &answer) noexcept {
    ngx_http_registry_cache_request_t &state = *v.state;
    ngx_http_registry_cache_worker_t *w = state.cache->worker;
    if (!v.teaches || w == nullptr || w->blobs == nullptr || w->store == nullptr ||
        state.asked.method != registry_cache::Method::get || !registry_cache::is_recordable_blob(state.asked.route) ||
        answer.content_length < 0)
    {
        return;
    }
    try {
        std::uint64_t bytes = 0, bodies = 0;
        std::string error;
        if (!w->store->blob_body_totals(bytes, bodies, error)) {
            ngx_http_registry_cache_log_store_error(state.cache, v.r->connection->log, "reading the store's totals",
                                                    error);
            return;
        }
        if (!make_room(v, bytes, static_cast<std::uint64_t>(answer.content_length))) {
            return;
        }
        if (!w->blobs->create(v.body_file, error)) {
            ngx_http_registry_cache_count(state.cache->sh->errors);
            ngx_http_registry_cache_log_store_error(state.cache, v.r->connection->log, "keeping a blob body", error);
        }
    } catch (...) {
        v.body_file.discard();  // out of memory: the body passes, not kept
    }
}

// Relays the shadows that may go on; nginx's return code.
ngx_int_t send(ngx_http_request_t *r, verify_t &v) noexcept {
    ngx_chain_t *out = relay(v);
    ngx_int_t rc = next_body_filter(r, out);
    while (out != nullptr) {
        ngx_chain_t *next = out->next;
        ngx_free_chain(r->pool, out);
        out = next;
    }
    return rc;
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr || state->verify.body == nullptr) {
        return next_body_filter(r, in);
    }
    verify_t &v = *state->verify.body;
    if (!v.started) {
        v.started = true;
        // A filter after the header filter changed the status. Into a part of the body for
        // the client's own Range (the range filter, when proxy_cache answers a Range request
        // from the whole body) or into no body at all (304, 412, 416): those bytes are no
        // body to judge, and the whole body, unjudged, must not be stored either. Into any
        // other 2xx (the slice filter makes a 200 of the upstream's 206 and sends the rest
        // from subrequests this filter never sees): the client would take it for the whole
        // blob, unverified, so it is refused before a byte of it leaves.
        ngx_uint_t now = r->headers_out.status;
        auto change = registry_cache::status_change(static_cast<int>(v.status), static_cast<int>(now),
                                                    r->headers_in.range != nullptr);
        if (change == registry_cache::StatusChange::reshaped) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "registry cache: a filter made the upstream's %ui a %ui (slice?): "
                          "the body cannot be verified; the transfer is cut",
                          v.status, now);
            refuse(v);
            return NGX_ERROR;
        }
        if (change == registry_cache::StatusChange::no_whole_body) {
            v.dropped = true;
            state->verify.body = nullptr;
            state->lookup.may_record = false;
            forget_cached_body(r, false);
            return next_body_filter(r, in);
        }
    }
    if (v.failed) {
        return NGX_ERROR;  // not even a final empty buffer: it would complete the response
    }
    if (v.matched) {
        // Judged good: what is held goes (its shadows were allocated with it), then the
        // rest as it is, so that nothing after the verdict needs memory, whose lack would cut
        // a good body.
        if (holds_back(v) && send(r, v) == NGX_ERROR) {
            return NGX_ERROR;
        }
        retire(v);
        r->buffered &= ~buffered_bit;
        return next_body_filter(r, in);
    }
    if (client_gone(r)) {
        return NGX_ERROR;  // what is held here may already be nginx's again
    }
    try {
        take_in(v, in);
        // What may go on goes first: the client takes it while this worker (or a thread)
        // hashes it. Then the end, if hashing judged it.
        ngx_int_t rc = send(r, v);
        if (rc == NGX_ERROR) {
            return rc;
        }
        if (!client_gone(r) && !advance(v)) {
            refuse(v);
            return NGX_ERROR;
        }
        if (!v.in_flight && holds_back(v)) {
            rc = send(r, v);  // what hashing here let go: the end, or slices held back
        }
        retire(v);
        if (holds_bytes(v)) {
            r->buffered |= buffered_bit;
        } else {
            r->buffered &= ~buffered_bit;
        }
        return rc;
    } catch (...) {
        ngx_http_registry_cache_count(state->cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "registry cache: verification failed (out of memory); the transfer is cut");
        refuse(v);
        return NGX_ERROR;
    }
}

// When the request ends: a body never judged must not stay in a proxy_cache (nginx keeps
// fetching for its cache after a client left, and stores what came unjudged). A body that
// never reached its end, while the client stayed, was cut short by the upstream (closed
// early, timed out): a mismatch like any other. A client that left is not the upstream's
// doing, and a body whose end arrived was judged or is being judged.
void on_request_end(void *data) noexcept {
    auto &v = *static_cast<verify_t *>(data);
    if (!v.matched && !v.failed) {
        forget_cached_body(v.r, false);
    }
    if (!v.started || v.dropped || v.end_seen || v.failed || client_gone(v.r)) {
        return;
    }
    u_char detail[128];
    u_char *end = ngx_snprintf(detail, sizeof(detail), "the upstream ended the body after %uL of %O bytes",
                               v.received, v.length);
    report_mismatch(v, ngx_str_t{static_cast<size_t>(end - detail), detail});
}

}  // namespace

namespace registry_cache_verify {

void manifest_not_kept(verify_t &v) noexcept {
    ngx_http_registry_cache_request_t &state = *v.state;
    const bool manifest = registry_cache::is_recordable_manifest(state.asked.route) ||
                          registry_cache::is_tag_route(state.asked.route);
    if (manifest && state.flight.lead != 0 && !state.flight.landed) {
        ngx_http_registry_cache_abandon_flight(state);  // the client is there: not_recorded
    }
}

}  // namespace registry_cache_verify

ngx_http_registry_cache_verify_start_t ngx_http_registry_cache_start_verify(
    ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
    const registry_cache::UpstreamAnswer &answer, const registry_cache::BodyPlan &plan) noexcept {
    using start_t = ngx_http_registry_cache_verify_start_t;
#if (NGX_HTTP_CACHE)
    if (r->cache != nullptr) {
        // A body from proxy_cache is checked again, as any other: nginx stores a body once
        // the upstream sent all of it, before its verdict (a slow client's transfer can be
        // judged long after other clients were served the file). With a thread pool the
        // file is read and hashed there; without, on the event loop.
        // Without a length, nginx may store the body before its last byte reaches this
        // filter: such a body is relayed verified but not stored.
        if (answer.content_length < 0) {
            r->upstream->cacheable = 0;
        }
    }
#endif

    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(verify_t));
    ngx_http_cleanup_t *end = ngx_http_cleanup_add(r, 0);
    if (cln == nullptr || end == nullptr) {
        return start_t::failed;
    }
    verify_t *v;
    try {
        v = new (cln->data) verify_t{};
    } catch (...) {
        return start_t::failed;  // the deque's first block
    }
    cln->handler = destroy;
    v->r = r;
    v->state = &state;
    v->length = answer.content_length;
    v->status = r->headers_out.status;
    v->teaches = plan.teaches;
    v->manifest_limit = state.verify.manifest_max_size;
    v->keeps_manifest = plan.teaches &&
                        (registry_cache::is_recordable_manifest(state.asked.route) ||
                         registry_cache::is_tag_route(state.asked.route)) &&
                        v->manifest_limit > 0 &&
                        (answer.content_length < 0 ||
                         static_cast<std::uint64_t>(answer.content_length) <= v->manifest_limit);
    if (v->keeps_manifest && answer.content_length > 0) {
        try {
            v->manifest_body.reserve(static_cast<size_t>(answer.content_length));
        } catch (...) {
            v->keeps_manifest = false;  // the body still passes, verified; it is not kept
        }
    }
    if (!ngx_http_registry_cache_pool_copy(r->pool, plan.expected, v->expected) ||
        !ngx_http_registry_cache_pool_copy(r->pool, answer.content_type, v->content_type) ||
        !v->hasher.start(registry_cache::parse_digest(plan.expected).digest.algorithm))
    {
        return start_t::failed;
    }
    start_keeping_blob(*v, answer);
    end->handler = on_request_end;
    end->data = v;
    state.verify.body = v;
    if (!v->keeps_manifest) {
        registry_cache_verify::manifest_not_kept(*v);
    }
    return start_t::started;
}

ngx_int_t ngx_http_registry_cache_verify_filter_init(ngx_conf_t *) noexcept {
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}
