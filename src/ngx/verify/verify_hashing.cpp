// Hashing and judging a body being verified: the pieces not yet hashed go to a job, run here
// or in an nginx thread pool, one at a time; the body is judged once its end is hashed.
#include "verify/verify.h"
#include "process/hash_threads.h"
#include "process/writer.h"

#include <new>
#include <string>

namespace registry_cache_verify {

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
    v.state->lookup.may_record = false;
    forget_cached_body(v.r, true);
    v.r->keepalive = 0;
    v.r->connection->error = 1;
}

// The client is gone (a failed write, a closed connection, a timeout): the rest of the body
// will not be relayed, and nginx may reuse the buffers still held here.
void report_mismatch(verify_t &v, ngx_str_t detail) noexcept {
    const registry_cache::Route &route = v.state->asked.route;
    ngx_str_t name = ngx_http_registry_cache_str(route.name);
    v.state->lookup.may_record = false;
    ngx_http_registry_cache_count(v.state->cache->sh->digest_mismatches);
    ngx_log_error(NGX_LOG_ERR, v.r->connection->log, 0,
                  "registry cache: digest mismatch in repository \"%V\": expected %V, %V; "
                  "the transfer is cut",
                  &name, &v.expected, &detail);
}

bool client_gone(ngx_http_request_t *r) noexcept {
    ngx_connection_t *c = r->connection;
    return c->error || c->timedout ||
           (r->upstream != nullptr && r->upstream->pipe != nullptr && r->upstream->pipe->downstream_error);
}

namespace {

// What the job copied of a blob body being kept; a failed write gives the copy up (logged,
// counted), never the transfer.
void take_copy(verify_t &v) noexcept {
    if (!v.body_file.open()) {
        return;
    }
    v.body_copied += v.job.copied();
    if (v.job.copy_error() != 0) {
        ngx_http_registry_cache_count(v.state->cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, v.r->connection->log, v.job.copy_error(),
                      "registry cache: writing a blob body to \"%s\" failed; it is not kept",
                      v.body_file.path().c_str());
        v.body_file.discard();
    }
}

// A verified blob body copied whole: into place, and recorded.
void publish_body(verify_t &v, const std::string &digest, std::uint64_t bytes) noexcept {
    if (!v.body_file.open()) {
        return;
    }
    ngx_http_registry_cache_request_t &state = *v.state;
    ngx_http_registry_cache_worker_t *w = state.cache->worker;
    if (v.body_copied != bytes || w == nullptr || w->blobs == nullptr) {
        v.body_file.discard();
        return;
    }
    try {
        std::string error;
        if (!w->blobs->publish(v.body_file, registry_cache::parse_digest(digest).digest, error)) {
            ngx_http_registry_cache_count(state.cache->sh->errors);
            ngx_http_registry_cache_log_store_error(state.cache, v.r->connection->log, "keeping a blob body", error);
            return;
        }
    } catch (...) {
        v.body_file.discard();
        return;
    }
    ngx_http_registry_cache_teach_body(v.r, state, digest, bytes);
}

// Judges the whole, hashed body: true when it is what the digest names.
bool judge(verify_t &v) {
    ngx_http_request_t *r = v.r;
    ngx_http_registry_cache_request_t &state = *v.state;
    std::uint64_t bytes = v.hasher.bytes();
    std::string computed = v.hasher.finish();
    std::string_view expected = ngx_http_registry_cache_view(v.expected);
    bool length_ok = v.length < 0 || static_cast<std::uint64_t>(v.length) == bytes;
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: judged %uL bytes: %s, %s",
                   bytes, computed == expected ? "digest matches" : "digest differs",
                   length_ok ? "length as declared" : "length not as declared");
    auto &sh = *state.cache->sh;

    if (!computed.empty() && computed == expected && length_ok) {
        v.matched = true;
        ngx_http_registry_cache_count(sh.verified);
        ngx_http_registry_cache_count(sh.verified_bytes, static_cast<ngx_atomic_int_t>(bytes));
        ngx_http_registry_cache_count(sh.upstream_body_bytes, static_cast<ngx_atomic_int_t>(bytes));
        // A manifest is recorded with its bytes, or not at all (too large, or not kept).
        const bool manifest = registry_cache::is_recordable_manifest(state.asked.route);
        const bool tagged = registry_cache::is_tag_route(state.asked.route);
        const bool body_kept = v.keeps_manifest && v.manifest_body.size() == bytes;
        if (v.teaches && tagged) {
            // By tag: the manifest by the digest its bytes hashed to (the upstream's
            // Docker-Content-Digest, which they were verified against), and the tag.
            registry_cache::BlobDescriptor descriptor;
            descriptor.size = bytes;
            descriptor.stored_at = static_cast<std::uint64_t>(ngx_time());
            if (body_kept && descriptor.media_type.assign(ngx_http_registry_cache_view(v.content_type))) {
                ngx_http_registry_cache_teach_tagged_manifest(r, state, computed, descriptor, v.manifest_body);
            }
        } else if (v.teaches && (!manifest || body_kept)) {
            registry_cache::BlobDescriptor descriptor;
            auto lesson = registry_cache::learn_verified(state.asked.route, computed, bytes,
                                                         ngx_http_registry_cache_view(v.content_type),
                                                         static_cast<std::uint64_t>(ngx_time()), descriptor);
            ngx_http_registry_cache_teach(r, state, lesson, descriptor, v.manifest_body);
        }
        if (v.teaches) {
            publish_body(v, computed, bytes);
        }
        return true;
    }

    u_char detail[256];
    u_char *end = ngx_snprintf(detail, sizeof(detail), "computed %s over %uL bytes%s",
                               computed.empty() ? "nothing" : computed.c_str(), bytes,
                               length_ok ? "" : " (not the declared Content-Length)");
    report_mismatch(v, ngx_str_t{static_cast<size_t>(end - detail), detail});
    return false;
}

// Takes the outcome of the job that ran: its pieces are hashed. False when it failed.
bool take_job(verify_t &v, bool ok) {
    v.in_flight = false;
    int error = v.job.read_error();
    take_copy(v);
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
    ngx_http_registry_cache_unpin_hash_thread();
    auto &v = *static_cast<verify_t *>(data);
    v.job_ok = v.job.run(v.hasher, v.scratch, scratch_size);
}

// Back on the event loop: like nginx's own thread completions (the copy filter's), it
// unblocks the request and runs its write handler, which relays what was held and lets the
// upstream reuse the buffers that were hashed.
void job_done(ngx_event_t *ev) noexcept {
    auto &v = *static_cast<verify_t *>(ev->data);
    ngx_http_request_t *r = v.r;
    ngx_connection_t *c = r->connection;
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    if (v.job_timer.timer_set) {
        ngx_del_timer(&v.job_timer);
    }

    bool ok;
    try {
        // A request whose client left is only finalized: nothing more is hashed or judged.
        ok = !v.job_late && take_job(v, v.job_ok) && (client_gone(r) || advance(v));
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

// A job still out after send_timeout: the transfer is refused now, before its end could
// pass, and the client is let go at once (its connection reset); the request itself stays
// until the thread gives its memory back, and job_done then finalizes it.
void job_late(ngx_event_t *ev) noexcept {
    auto &v = *static_cast<verify_t *>(ev->data);
    ngx_http_request_t *r = v.r;
    ngx_connection_t *c = r->connection;
    ngx_http_set_log_request(c->log, r);
    v.job_late = true;
    ngx_http_registry_cache_count(v.state->cache->sh->errors);
    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "registry cache: hashing in the thread pool took longer than send_timeout; "
                  "the transfer is cut");
    refuse(v);
#if (NGX_HTTP_V2)
    if (r->stream != nullptr) {
        return;  // the stream is reset when the request is finalized
    }
#endif
    if (c->fd != NGX_INVALID_FILE) {
        struct linger linger{1, 0};
        (void) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
        (void) shutdown(c->fd, SHUT_RDWR);
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
    if (ngx_thread_task_post(v.state->verify.threads, v.task) != NGX_OK) {
        return false;  // nginx logged why (a full queue); the caller hashes here instead
    }
    v.r->main->blocked++;  // the request and its pool stay until the job is back
    v.in_flight = true;
    if (v.job_timer.handler == nullptr) {
        v.job_timer.handler = job_late;
        v.job_timer.data = &v;
        v.job_timer.log = v.r->connection->log;
    }
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_get_module_loc_conf(v.r, ngx_http_core_module));
    ngx_add_timer(&v.job_timer, clcf->send_timeout);
    return true;
}

#endif

// Gives every piece not yet hashed to the job (and, for a blob body being kept, where its
// bytes go on in the file).
void queue_job(verify_t &v) {
    if (v.job.empty()) {
        v.job.copy_to(v.body_file.open() ? v.body_file.fd() : -1, v.body_copied);
    }
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

}  // namespace

// Moves hashing on: hashes what arrived (in a thread when worth one) and judges the body
// once all of it is hashed. False when the body must be refused.
bool advance(verify_t &v) {
    while (!v.in_flight && !v.matched) {
        queue_job(v);
        if (v.job.empty()) {
            return !v.end_seen || judge(v);
        }
#if (NGX_THREADS)
        if (v.state->verify.threads != nullptr && v.job.bytes() >= thread_min_bytes && post_job(v)) {
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

}  // namespace registry_cache_verify
