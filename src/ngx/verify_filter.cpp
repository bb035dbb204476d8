// Verified bytes: the body of every 200 to a GET that names a digest is hashed as it streams
// to the client, on the event loop or, with `registry_cache_verify threads`, in an nginx
// thread pool while the worker goes on relaying. The bytes go on while they are hashed, all
// but the last: those pass only once the whole body hashed to the digest and its length is
// the declared one. Otherwise the client's connection is cut before the response completes (a
// failed transfer, never a complete 200 with wrong bytes), nothing is recorded, and a
// proxy_cache of the same location is told not to keep it. A body the upstream ends short is
// a mismatch too; one the client walks away from is not.
//
// Buffers: each buffer that reaches the filter is relayed as a shadow (a copy of its ngx_buf_t
// over the same bytes), and the buffer itself is left unconsumed until its bytes are hashed
// and the shadow is sent. Its owner (the upstream's buffer, the event pipe) reuses memory only
// once it is consumed, so a thread never hashes bytes that are being overwritten.
#include "ngx_registry_cache.h"

#include <deque>
#include <new>
#include <string>
#include <vector>

#include "registry_cache/hash_job.h"
#include "registry_cache/hasher.h"

namespace {

// In r->buffered: of its four bits, the one no stock filter sets on a request (the image
// filter's 0x08 goes to the connection). Set while the filter holds back or hashes bytes, so
// that nginx does not finalize the request under it.
constexpr unsigned buffered_bit = 0x08;
constexpr size_t scratch_size = 256 * 1024;  // for bytes in a file
// A buffer in a file (a proxy_cache hit is one buffer for the whole body) is taken in slices
// of this size, so that all but its last slice can go on while it is hashed...
constexpr off_t file_slice = 1024 * 1024;
// ...but not further ahead of the hash than this: the last slice waits for the whole hash,
// and that wait must stay short (a client's send_timeout runs meanwhile), however large the
// file and however busy the thread pool.
constexpr std::uint64_t slices_ahead = 16 * 1024 * 1024;
// One job hashes at most this much (unless one piece is larger), so that slices go on as
// their hash advances.
constexpr std::uint64_t job_max_bytes = 4 * 1024 * 1024;
// Smaller batches (manifests, a short read) are hashed on the event loop: a thread round
// trip costs more than the hash.
constexpr std::uint64_t thread_min_bytes = 64 * 1024;

// One buffer of the body, from its arrival to its retirement.
struct Piece {
    ngx_buf_t *buf;     // the bytes: the buffer as it arrived, or a slice of one in a file
    ngx_buf_t *owner;   // the buffer that arrived, consumed when this retires; null for a
                        // slice before the last of its buffer
    ngx_buf_t *shadow;  // relayed in its place; null while held back
    // Where its bytes are, as they were on arrival: once the client is gone nginx may hand
    // the buffer's ngx_buf_t to other uses (ngx_event_pipe_drain_chains), so hashing never
    // reads it again.
    const u_char *data;  // null: in the file
    ngx_fd_t fd;
    off_t offset;
    off_t size;
    bool slice;         // a slice of a larger buffer in a file
    bool at_end;        // it holds the end of the body or comes after: held until judged
    bool queued;        // given to a hash job
    bool hashed;
};

}  // namespace

struct ngx_http_registry_cache_verify_t {
    ngx_http_request_t *r;
    ngx_http_registry_cache_request_t *state;
    registry_cache::Hasher hasher;  // the thread's while a job is in flight, like `job`
    registry_cache::HashJob job;
    bool job_ok;                    // set by the thread
    bool in_flight;
    std::deque<Piece> pieces;       // not yet retired, in order
    std::vector<ngx_buf_t *> spare_shadows;
    ngx_str_t expected;      // "algorithm:hex"
    off_t length;            // the Content-Length the upstream declared; -1: none
    ngx_str_t content_type;  // for the descriptor the verified body teaches
    u_char *scratch;         // for bytes in a file; allocated when the first such comes
    std::uint64_t received;  // bytes that reached the filter
    bool end_seen;           // the buffer with the last byte arrived
    bool started;            // the body filter saw the response
    bool matched;            // judged: the body is what the digest names
    bool failed;             // refused: nothing more of it may pass
    bool dropped;            // not this body's to judge: nginx sent a part of it (Range)
#if (NGX_THREADS)
    ngx_thread_pool_t *threads;
    ngx_thread_task_t *task;
#endif
};

namespace {

using verify_t = ngx_http_registry_cache_verify_t;

ngx_http_output_body_filter_pt next_body_filter;

void destroy(void *data) noexcept {
    static_cast<verify_t *>(data)->~verify_t();
}

bool pool_copy(ngx_pool_t *pool, std::string_view s, ngx_str_t &out) noexcept {
    out.data = static_cast<u_char *>(ngx_pnalloc(pool, s.size()));
    out.len = s.size();
    if (out.data == nullptr && s.size() != 0) {
        return false;
    }
    if (s.size() != 0) {
        ngx_memcpy(out.data, s.data(), s.size());
    }
    return true;
}

ngx_str_t repository(const ngx_http_registry_cache_request_t &state) noexcept {
    return {state.route.name.size(), reinterpret_cast<u_char *>(const_cast<char *>(state.route.name.data()))};
}

// The digest a 200 to this GET must hash to, or empty when the body cannot be verified.
std::string_view expected_digest(const ngx_http_registry_cache_request_t &state,
                                 const registry_cache::UpstreamAnswer &answer) noexcept {
    const registry_cache::Route &route = state.route;
    if (route.kind != registry_cache::RouteKind::blob && route.kind != registry_cache::RouteKind::manifest) {
        return {};
    }
    if (route.by_digest) {
        // The body decides, whatever Docker-Content-Digest claims.
        return registry_cache::is_cacheable(route.digest.algorithm) ? registry_cache::digest_text(route)
                                                                    : std::string_view{};
    }
    // A manifest by tag: the upstream says which digest it is sending; hold it to that.
    auto claimed = registry_cache::parse_digest(answer.docker_content_digest);
    return claimed.status == registry_cache::DigestStatus::ok &&
                   registry_cache::is_cacheable(claimed.digest.algorithm)
               ? answer.docker_content_digest
               : std::string_view{};
}

// A body that failed verification, or that was never judged, must not stay in a proxy_cache
// of the same location: u->cacheable = 0 keeps nginx from storing it; if nginx stored it
// already (the upstream finished before the last bytes were judged), or it is a hit that
// failed, the file is deleted, so the next request for it misses and goes upstream. A hit
// that was only left unjudged (its client went away) stays. The cache node itself is left to
// nginx (touching it after nginx released it could write freed shared memory).
void forget_cached_body(ngx_http_request_t *r, bool failed) noexcept {
    if (r->upstream != nullptr) {
        r->upstream->cacheable = 0;
    }
#if (NGX_HTTP_CACHE)
    ngx_http_cache_t *c = r->cache;
    if (c == nullptr || !(c->updated || (r->cached && failed)) || c->file.name.len == 0) {
        return;
    }
    if (ngx_delete_file(c->file.name.data) == NGX_FILE_ERROR && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_delete_file_n " \"%s\" of a body that failed verification failed",
                      c->file.name.data);
    }
#endif
}

// Refuses the rest of the body: nothing more passes, the connection closes (a client that
// counted on keepalive would otherwise wait for bytes that never come), nothing is stored.
void refuse(verify_t &v) noexcept {
    v.failed = true;
    v.state->may_record = false;
    forget_cached_body(v.r, true);
    v.r->keepalive = 0;
    v.r->connection->error = 1;
}

// The client is gone (a failed write, a closed connection, a timeout): the rest of the body
// will not be relayed, and nginx may reuse the buffers still held here.
bool client_gone(ngx_http_request_t *r) noexcept {
    ngx_connection_t *c = r->connection;
    return c->error || c->timedout ||
           (r->upstream != nullptr && r->upstream->pipe != nullptr && r->upstream->pipe->downstream_error);
}

// Judges the whole, hashed body: true when it is what the digest names.
bool judge(verify_t &v) {
    ngx_http_request_t *r = v.r;
    ngx_http_registry_cache_request_t &state = *v.state;
    std::uint64_t bytes = v.hasher.bytes();
    std::string computed = v.hasher.finish();
    std::string_view expected = ngx_http_registry_cache_view(v.expected);
    bool length_ok = v.length < 0 || static_cast<std::uint64_t>(v.length) == bytes;
    auto &sh = *state.cache->sh;

    if (!computed.empty() && computed == expected && length_ok) {
        v.matched = true;
        ngx_http_registry_cache_count(sh.verified);
        ngx_http_registry_cache_count(sh.verified_bytes, static_cast<ngx_atomic_int_t>(bytes));
        registry_cache::BlobDescriptor descriptor;
        auto lesson = registry_cache::learn_verified(state.route, computed, bytes,
                                                     ngx_http_registry_cache_view(v.content_type),
                                                     static_cast<std::uint64_t>(ngx_time()), descriptor);
        ngx_http_registry_cache_teach(r, state, lesson, descriptor);
        return true;
    }

    ngx_http_registry_cache_count(sh.digest_mismatches);
    ngx_str_t name = repository(state);
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "registry cache: digest mismatch in repository \"%V\": expected %V, "
                  "computed %s over %uL bytes%s; the transfer is cut",
                  &name, &v.expected, computed.empty() ? "nothing" : computed.c_str(), bytes,
                  length_ok ? "" : " (not the declared Content-Length)");
    return false;
}

// Takes the outcome of the job that ran: its pieces are hashed. False when it failed.
bool take_job(verify_t &v, bool ok) {
    v.in_flight = false;
    int error = v.job.read_error();
    v.job.clear();
    if (!ok) {
        // The bytes could not be checked: they are refused, but are no mismatch.
        ngx_http_registry_cache_count(v.state->cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, v.r->connection->log, error,
                      "registry cache: hashing the body failed; the transfer is cut");
        return false;
    }
    for (Piece &p : v.pieces) {
        p.hashed = p.hashed || p.queued;
    }
    return true;
}

#if (NGX_THREADS)

void hash_in_thread(void *data, ngx_log_t *) noexcept {
    auto &v = *static_cast<verify_t *>(data);
    v.job_ok = v.job.run(v.hasher, v.scratch, scratch_size);
}

bool advance(verify_t &v);

// Back on the event loop: like nginx's own thread completions (the copy filter's), it
// unblocks the request and runs its write handler, which relays what was held and lets the
// upstream reuse the buffers that were hashed.
void job_done(ngx_event_t *ev) noexcept {
    auto &v = *static_cast<verify_t *>(ev->data);
    ngx_http_request_t *r = v.r;
    ngx_connection_t *c = r->connection;
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;

    bool ok;
    try {
        // A request whose client left is only finalized: nothing more is hashed or judged.
        ok = take_job(v, v.job_ok) && (client_gone(r) || advance(v));
    } catch (...) {
        ngx_http_registry_cache_count(v.state->cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "registry cache: verification failed unexpectedly");
        ok = false;
    }
    if (!ok) {
        refuse(v);
        // A reference of our own, as nginx takes one to finalize from outside the request's
        // flow: terminating runs the upstream's cleanup, which finalizes the request too, and
        // must not free it under this call.
        r->main->count++;
        ngx_http_finalize_request(r, NGX_ERROR);
        ngx_http_run_posted_requests(c);
    } else if (r->done) {
        // Finalized while the job ran (as the copy filter does: c may be gone after this).
        c->write->handler(c->write);
    } else {
        r->write_event_handler(r);
        ngx_http_run_posted_requests(c);
    }
}

bool post_job(verify_t &v) {
    if (v.task == nullptr) {
        v.task = ngx_thread_task_alloc(v.r->pool, 0);
        if (v.task == nullptr) {
            return false;
        }
        v.task->ctx = &v;
        v.task->handler = hash_in_thread;
        v.task->event.data = &v;
        v.task->event.handler = job_done;
    }
    if (ngx_thread_task_post(v.threads, v.task) != NGX_OK) {
        return false;  // nginx logged why (a full queue); the caller hashes here instead
    }
    v.r->main->blocked++;  // the request and its pool stay until the job is back
    v.in_flight = true;
    return true;
}

#endif

// Gives every piece not yet hashed to the job.
void queue_job(verify_t &v) {
    for (Piece &p : v.pieces) {
        if (p.queued) {
            continue;
        }
        if (!v.job.empty() && v.job.bytes() + static_cast<std::uint64_t>(p.size) > job_max_bytes) {
            break;
        }
        if (p.data != nullptr) {
            v.job.add_memory(p.data, static_cast<size_t>(p.size));
        } else {
            if (v.scratch == nullptr) {
                v.scratch = static_cast<u_char *>(ngx_palloc(v.r->pool, scratch_size));
                if (v.scratch == nullptr) {
                    throw std::bad_alloc();
                }
            }
            v.job.add_file(p.fd, static_cast<std::uint64_t>(p.offset), static_cast<std::uint64_t>(p.size));
        }
        p.queued = true;
    }
}

// Moves hashing on: hashes what arrived (in a thread when worth one) and judges the body
// once all of it is hashed. False when the body must be refused.
bool advance(verify_t &v) {
    while (!v.in_flight && !v.matched) {
        queue_job(v);
        if (v.job.empty()) {
            return !v.end_seen || judge(v);
        }
#if (NGX_THREADS)
        if (v.threads != nullptr && v.job.bytes() >= thread_min_bytes && post_job(v)) {
            return true;
        }
#endif
        bool ok = v.job.run(v.hasher, v.scratch, scratch_size);
        if (!take_job(v, ok)) {
            return false;
        }
    }
    return true;
}

// A copy of `b` over bytes [from, to) of its file, none of its end flags but on the last.
ngx_buf_t *file_slice_of(ngx_pool_t *pool, const ngx_buf_t *b, off_t from, off_t to) {
    auto *s = static_cast<ngx_buf_t *>(ngx_palloc(pool, sizeof(ngx_buf_t)));
    if (s == nullptr) {
        throw std::bad_alloc();
    }
    *s = *b;
    s->file_pos = from;
    s->file_last = to;
    if (to != b->file_last) {
        s->last_buf = 0;
        s->last_in_chain = 0;
        s->flush = 0;
        s->sync = 0;
    }
    return s;
}

void take_piece(verify_t &v, ngx_buf_t *b, ngx_buf_t *owner, bool slice) {
    off_t size = ngx_buf_special(b) ? 0 : ngx_buf_size(b);
    bool in_memory = ngx_buf_in_memory(b);
    Piece p{b, owner, nullptr,
            in_memory ? b->pos : nullptr, in_memory || size == 0 ? NGX_INVALID_FILE : b->file->fd,
            in_memory ? 0 : b->file_pos, size, slice,
            v.end_seen, size == 0, size == 0};
    if (!v.end_seen) {
        v.received += static_cast<std::uint64_t>(size);
        // The end: the last buffer, or the declared length reached.
        if (b->last_buf || (v.length >= 0 && v.received >= static_cast<std::uint64_t>(v.length))) {
            v.end_seen = true;
            p.at_end = true;
        }
    }
    v.pieces.push_back(p);
}

void take_in(verify_t &v, ngx_chain_t *in) {
    for (ngx_chain_t *cl = in; cl != nullptr; cl = cl->next) {
        ngx_buf_t *b = cl->buf;
        if (ngx_buf_in_memory(b) || !b->in_file || b->file_last - b->file_pos <= file_slice) {
            take_piece(v, b, b, false);
            continue;
        }
        for (off_t at = b->file_pos; at < b->file_last; at += file_slice) {
            off_t to = ngx_min(at + file_slice, b->file_last);
            take_piece(v, file_slice_of(v.r->pool, b, at, to), to == b->file_last ? b : nullptr, true);
        }
    }
}

// Shadows of the pieces that may go on now, in order: everything before the end, and the
// end once the body matched.
ngx_chain_t *relay(verify_t &v) {
    ngx_chain_t *out = nullptr;
    ngx_chain_t **last = &out;
    std::uint64_t ahead = 0;  // bytes of slices relayed and not yet hashed
    for (Piece &p : v.pieces) {
        std::uint64_t unhashed = p.slice && !p.hashed ? static_cast<std::uint64_t>(p.size) : 0;
        if (p.shadow != nullptr) {
            ahead += unhashed;
            continue;
        }
        if ((p.at_end && !v.matched) || (ahead != 0 && ahead + unhashed > slices_ahead)) {
            break;
        }
        ahead += unhashed;
        ngx_buf_t *s;
        if (!v.spare_shadows.empty()) {
            s = v.spare_shadows.back();
            v.spare_shadows.pop_back();
        } else if ((s = static_cast<ngx_buf_t *>(ngx_palloc(v.r->pool, sizeof(ngx_buf_t)))) == nullptr) {
            throw std::bad_alloc();
        }
        *s = *p.buf;
        s->shadow = nullptr;
        s->tag = reinterpret_cast<ngx_buf_tag_t>(&ngx_http_registry_cache_module);
        ngx_chain_t *cl = ngx_alloc_chain_link(v.r->pool);
        if (cl == nullptr) {
            v.spare_shadows.push_back(s);
            throw std::bad_alloc();
        }
        cl->buf = s;
        cl->next = nullptr;
        *last = cl;
        last = &cl->next;
        p.shadow = s;
    }
    return out;
}

// Consumes, in order, the buffers that are hashed and whose shadow was sent: their owner may
// now reuse them.
void retire(verify_t &v) {
    while (!v.pieces.empty()) {
        Piece &p = v.pieces.front();
        if (!p.hashed || p.shadow == nullptr || ngx_buf_size(p.shadow) != 0) {
            break;
        }
        v.spare_shadows.push_back(p.shadow);
        if (p.owner != nullptr) {
            p.owner->pos = p.owner->last;
            p.owner->file_pos = p.owner->file_last;
        }
        v.pieces.pop_front();
    }
}

// Relays the shadows that may go on; nginx's return code.
ngx_int_t send(ngx_http_request_t *r, verify_t &v) {
    ngx_chain_t *out = relay(v);
    ngx_int_t rc = next_body_filter(r, out);
    while (out != nullptr) {
        ngx_chain_t *next = out->next;
        ngx_free_chain(r->pool, out);
        out = next;
    }
    return rc;
}

bool holds_back(const verify_t &v) noexcept {
    for (const Piece &p : v.pieces) {
        if (p.shadow == nullptr) {
            return true;
        }
    }
    return false;
}

bool holds_bytes(const verify_t &v) noexcept {
    if (v.in_flight) {
        return true;
    }
    for (const Piece &p : v.pieces) {
        if (p.shadow == nullptr || !p.hashed) {
            return true;
        }
    }
    return false;
}

// Sends the OCI error JSON that replaces nginx's own error page (learn_filter.cpp), once,
// and drops the page.
ngx_int_t send_error_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    if (state.error_body_sent) {
        return NGX_OK;
    }
    state.error_body_sent = true;
    auto *b = static_cast<ngx_buf_t *>(ngx_pcalloc(r->pool, sizeof(ngx_buf_t)));
    if (b == nullptr) {
        return NGX_ERROR;
    }
    b->pos = state.error_body.data;
    b->last = state.error_body.data + state.error_body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};
    return next_body_filter(r, &out);
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state != nullptr && state->error_body.len != 0) {
        return send_error_body(r, *state);
    }
    if (state == nullptr || state->verify == nullptr) {
        return next_body_filter(r, in);
    }
    verify_t &v = *state->verify;
    if (!v.started) {
        v.started = true;
        // A filter between the upstream and this one made the 200 a part of the body (the
        // range filter, for a request with Range that proxy_cache answers) or an error: those
        // bytes cannot be judged, and the whole body, unjudged, must not be stored either.
        if (r->headers_out.status != NGX_HTTP_OK) {
            v.dropped = true;
            state->verify = nullptr;
            state->may_record = false;
            forget_cached_body(r, false);
            return next_body_filter(r, in);
        }
    }
    if (v.failed) {
        return NGX_ERROR;  // not even a final empty buffer: it would complete the response
    }
    if (v.matched && v.pieces.empty()) {
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
    ngx_connection_t *c = v.r->connection;
    if (!v.matched && !v.failed) {
        forget_cached_body(v.r, false);
    }
    if (!v.started || v.dropped || v.end_seen || v.failed || client_gone(v.r)) {
        return;
    }
    v.state->may_record = false;
    ngx_http_registry_cache_count(v.state->cache->sh->digest_mismatches);
    ngx_str_t name = repository(*v.state);
    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "registry cache: digest mismatch in repository \"%V\": expected %V, "
                  "the upstream ended the body after %uL of %O bytes; the transfer is cut",
                  &name, &v.expected, v.received, v.length);
}

}  // namespace

bool ngx_http_registry_cache_start_verify(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                          const registry_cache::UpstreamAnswer &answer) {
    // 206 and 304 carry no whole body; an encoded body is not the blob's bytes.
    if (!state.verify_on || state.method != registry_cache::Method::get || answer.status != 200 ||
        answer.content_encoded || !registry_cache::same_object(state.route, answer.path))
    {
        return false;
    }
    std::string_view expected = expected_digest(state, answer);
    if (expected.empty()) {
        return false;
    }
    bool threaded = false;
#if (NGX_THREADS)
    threaded = state.verify_threads != nullptr;
#endif
#if (NGX_HTTP_CACHE)
    if (r->cache != nullptr) {
        // A body from proxy_cache is in a file: hashing it on the event loop would read it
        // whole, blocking the worker. With a thread pool it is checked again; without, it
        // was verified when it was stored (a body that failed is never left there).
        if (r->cached && !threaded) {
            return false;
        }
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
        return false;
    }
    auto *v = new (cln->data) verify_t{};
    cln->handler = destroy;
    v->r = r;
    v->state = &state;
    v->length = answer.content_length;
#if (NGX_THREADS)
    v->threads = state.verify_threads;
#endif
    if (!pool_copy(r->pool, expected, v->expected) ||
        !pool_copy(r->pool, answer.content_type, v->content_type) ||
        !v->hasher.start(registry_cache::parse_digest(expected).digest.algorithm))
    {
        return false;
    }
    end->handler = on_request_end;
    end->data = v;
    state.verify = v;
    return true;
}

ngx_int_t ngx_http_registry_cache_verify_filter_init(ngx_conf_t *) noexcept {
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}
