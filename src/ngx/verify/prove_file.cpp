// Hashing a stored blob body whole before it is sent (verify/prove_file.h).
#include "verify/prove_file.h"
#include "process/writer.h"

#include <new>
#include <string>

#include "registry_cache/digest.h"
#include "registry_cache/hash_job.h"
#include "registry_cache/hasher.h"

namespace {

constexpr size_t scratch_size = 256 * 1024;

struct proof_t {
    ngx_http_request_t *r;
    ngx_http_registry_cache_request_t *state;
    registry_cache::Hasher hasher;
    registry_cache::HashJob job;
    std::string expected;
    u_char *scratch;
    bool ran_ok;  // set by the thread
    ngx_http_registry_cache_proven_t done;
    void *data;
};

void destroy(void *data) noexcept {
    static_cast<proof_t *>(data)->~proof_t();
}

// The verdict on a job that ran: a file that does not hash to its name, or cannot be read
// whole, is damaged: counted, logged, its file and record removed.
bool judge(proof_t &p) {
    ngx_log_t *log = p.r->connection->log;
    auto &sh = *p.state->cache->sh;
    const std::uint64_t bytes = p.hasher.bytes();
    const std::string computed = p.ran_ok ? p.hasher.finish() : std::string();
    if (!computed.empty() && computed == p.expected) {
        ngx_http_registry_cache_count(sh.verified);
        ngx_http_registry_cache_count(sh.verified_bytes, static_cast<ngx_atomic_int_t>(bytes));
        return true;
    }
    if (p.ran_ok) {
        ngx_http_registry_cache_count(sh.digest_mismatches);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "registry cache: the stored blob body %s hashes to %s over %uL bytes: it is "
                      "damaged and removed; the request goes upstream",
                      p.expected.c_str(), computed.empty() ? "nothing" : computed.c_str(), bytes);
    } else {
        ngx_http_registry_cache_count(sh.errors);
        ngx_log_error(NGX_LOG_ERR, log, p.job.read_error(),
                      "registry cache: reading the stored blob body %s failed after %uL bytes: it "
                      "is removed; the request goes upstream",
                      p.expected.c_str(), bytes);
    }
    ngx_http_registry_cache_forget_body(p.state->cache, p.expected, log);
    return false;
}

#if (NGX_THREADS)

void prove_in_thread(void *data, ngx_log_t *) noexcept {
    auto &p = *static_cast<proof_t *>(data);
    p.ran_ok = p.job.run(p.hasher, p.scratch, scratch_size);
}

// Back on the event loop, as nginx's own thread completions: the request is unblocked; a
// client that left meanwhile is only let go (the verdict still removes a damaged file).
void proof_in(ngx_event_t *ev) noexcept {
    auto &p = *static_cast<proof_t *>(ev->data);
    ngx_http_request_t *r = p.r;
    ngx_connection_t *c = r->connection;
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    bool proven = false;
    try {
        proven = judge(p);
    } catch (...) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "registry cache: proving a stored blob body failed unexpectedly");
    }
    if (c->error || r->done) {
        ngx_http_finalize_request(r, NGX_ERROR);
    } else {
        p.done(r, p.data, proven);
    }
    ngx_http_run_posted_requests(c);
}

#endif

}  // namespace

ngx_http_registry_cache_proof_t ngx_http_registry_cache_prove_file(
    ngx_http_request_t *r, ngx_http_registry_cache_request_t &state, ngx_fd_t fd,
    std::uint64_t size, std::string_view expected, ngx_http_registry_cache_proven_t done,
    void *data) noexcept {
    using proof = ngx_http_registry_cache_proof_t;
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(proof_t));
    u_char *scratch = static_cast<u_char *>(ngx_palloc(r->pool, scratch_size));
    if (cln == nullptr || scratch == nullptr) {
        return proof::failed;
    }
    proof_t *p;
    try {
        p = new (cln->data) proof_t{};
        cln->handler = destroy;
        p->expected.assign(expected);
        p->job.add_file(fd, 0, size);
    } catch (...) {
        return proof::failed;
    }
    p->r = r;
    p->state = &state;
    p->scratch = scratch;
    p->done = done;
    p->data = data;
    if (!p->hasher.start(registry_cache::parse_digest(expected).digest.algorithm)) {
        return proof::failed;
    }
#if (NGX_THREADS)
    if (state.verify.threads != nullptr) {
        ngx_thread_task_t *task = ngx_thread_task_alloc(r->pool, 0);
        if (task == nullptr) {
            return proof::failed;
        }
        task->ctx = p;
        task->handler = prove_in_thread;
        task->event.data = p;
        task->event.handler = proof_in;
        if (ngx_thread_task_post(state.verify.threads, task) != NGX_OK) {
            return proof::failed;  // nginx logged why (a full queue)
        }
        r->main->blocked++;  // the request and its pool stay until the job is back
        r->main->count++;    // released by the finalization `done` (or proof_in) makes
        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_request_empty_handler;
        return proof::proving;
    }
#endif
    // `registry_cache_verify on` (no thread pool): hashed here, as that mode hashes
    // everything on the event loop.
    p->ran_ok = p->job.run(p->hasher, p->scratch, scratch_size);
    try {
        return judge(*p) ? proof::proven : proof::refuted;
    } catch (...) {
        return proof::failed;
    }
}
