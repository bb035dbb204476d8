// Hashing a stored blob body whole before it is sent (verify/prove_file.h).
#include "verify/prove_file.h"
#include "process/hash_threads.h"
#include "process/writer.h"

#include <sys/stat.h>

#include <ctime>

#include <algorithm>
#include <iterator>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry_cache/digest.h"
#include "registry_cache/hash_job.h"
#include "registry_cache/hasher.h"

namespace {

constexpr std::size_t scratch_size = 256 * 1024;
// Smaller files are hashed on the event loop: a thread's round trip costs more than they do
// (nginx reads small static files on the loop too).
constexpr std::uint64_t thread_min_size = 64 * 1024;

struct proof_t {
    ngx_http_request_t *r;
    ngx_http_registry_cache_request_t *state;
    registry_cache::Hasher hasher;
    registry_cache::HashJob job;
    std::string expected;
    std::string path;
    ngx_fd_t fd;
    struct stat opened;  // the file as it was opened
    time_t looked;       // when (the wall clock's second)
    ngx_msec_t window;   // how long its proof answers for it (proof_window)
    u_char *scratch;
    bool ran_ok;  // set by the thread
    ngx_http_registry_cache_proven_t done;
    void *data;
    // Armed while the thread runs, and not cancelable: a worker told to quit (a reload) waits
    // for it, instead of leaving at once and dropping the client whose file is being hashed.
    ngx_event_t keep_alive;
};

void destroy(void *data) noexcept { static_cast<proof_t *>(data)->~proof_t(); }

// Files this worker proved, by device and inode. A part of one is answered on a proof made
// moments ago (the ranges of one blob that a client fetches side by side); a whole body only
// where registry_cache_stored_proof_ttl says, within it. Either way the file must be the one
// proven: the same size, and the same modification and change times (writing to a file, or
// setting its times back, moves its change time, which no one can set), proven against the
// same digest (the one inode may be at another digest's path too: a hard link made there).
struct Proven {
    struct stat file;  // as it was proven (the key mixes device and inode: kept whole here)
    std::string digest;
    ngx_msec_t at;
};
constexpr ngx_msec_t proof_reuse_ms = 10000;
constexpr std::size_t max_proven = 4096;
std::unordered_map<std::uint64_t, Proven> proven_files;

std::uint64_t file_key(const struct stat &st) noexcept {
    return (static_cast<std::uint64_t>(st.st_dev) << 48) ^ static_cast<std::uint64_t>(st.st_ino);
}

bool same_file(const struct stat &a, const struct stat &b) noexcept {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool same_time(const struct timespec &a, const struct timespec &b) noexcept {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// The same file, unchanged: size, modification and change times.
bool unchanged(const struct stat &a, const struct stat &b) noexcept {
    return same_file(a, b) && a.st_size == b.st_size && same_time(a.st_mtim, b.st_mtim) &&
           same_time(a.st_ctim, b.st_ctim);
}

// A proof of this very file against `digest` made less than `within` ago.
bool proven_within(const struct stat &st, std::string_view digest, ngx_msec_t within) noexcept {
    auto it = proven_files.find(file_key(st));
    return it != proven_files.end() && unchanged(it->second.file, st) && it->second.digest == digest &&
           ngx_current_msec - it->second.at < within;
}

// `within`: the asking location's window; proofs past it make room first, all of them when
// none is.
void remember_proof(const struct stat &st, const std::string &digest, ngx_msec_t within) {
    if (proven_files.size() >= max_proven) {
        for (auto it = proven_files.begin(); it != proven_files.end();) {
            it = ngx_current_msec - it->second.at >= within ? proven_files.erase(it) : std::next(it);
        }
        if (proven_files.size() >= max_proven) {
            proven_files.clear();
        }
    }
    proven_files[file_key(st)] = Proven{st, digest, ngx_current_msec};
}

ngx_msec_t proof_window(const ngx_http_registry_cache_request_t &state, bool part) noexcept {
    return part ? std::max(proof_reuse_ms, state.verify.stored_proof_ttl) : state.verify.stored_proof_ttl;
}

// Whether what was hashed is the file as it was looked at before, for good: it is so now
// (size and times), and was last changed a second or more before that look. A file's times
// move with each write, but in clock ticks: a write in the very tick of the look, after the
// hashing passed the bytes it changed, would leave them as they were.
bool stood_still(const proof_t &p) noexcept {
    struct stat now;
    return fstat(p.fd, &now) == 0 && unchanged(now, p.opened) && p.opened.st_ctim.tv_sec + 1 < p.looked;
}

// The verdict on a job that ran. A file that does not hash to its name, or cannot be read
// whole, is damaged: counted, logged, and removed with its record, if it is still the file
// of that name (a good body may have been kept in its place since it was opened).
bool judge(proof_t &p) {
    ngx_log_t *log = p.r->connection->log;
    auto &sh = *p.state->cache->sh;
    const std::uint64_t bytes = p.hasher.bytes();
    const std::string computed = p.ran_ok ? p.hasher.finish() : std::string();
    if (!computed.empty() && computed == p.expected) {
        ngx_http_registry_cache_count(sh.verified);
        ngx_http_registry_cache_count(sh.verified_bytes, static_cast<ngx_atomic_int_t>(bytes));
        if (stood_still(p)) remember_proof(p.opened, p.expected, p.window);
        return true;
    }
    struct stat now;
    if (stat(p.path.c_str(), &now) != 0 || !same_file(now, p.opened)) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "registry cache: the stored blob body %s did not hash to its name, and was "
                      "replaced or removed meanwhile; the request goes upstream",
                      p.expected.c_str());
        return false;
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
    ngx_http_registry_cache_unpin_hash_thread();
    auto &p = *static_cast<proof_t *>(data);
    p.ran_ok = p.job.run(p.hasher, p.scratch, scratch_size);
}

void keep_alive(ngx_event_t *ev) noexcept { ngx_add_timer(ev, 60000); }

// Back on the event loop, as nginx's own thread completions: the request is unblocked; a
// client that left meanwhile is only let go (the verdict still removes a damaged file).
void proof_in(ngx_event_t *ev) noexcept {
    auto &p = *static_cast<proof_t *>(ev->data);
    ngx_http_request_t *r = p.r;
    ngx_connection_t *c = r->connection;
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    if (p.keep_alive.timer_set) {
        ngx_del_timer(&p.keep_alive);
    }
    bool proven = false;
    try {
        proven = judge(p);
    } catch (...) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "registry cache: proving a stored blob body failed unexpectedly");
    }
    if (c->error) {
        ngx_http_finalize_request(r, NGX_ERROR);
    } else {
        p.done(r, p.data, proven);
    }
    ngx_http_run_posted_requests(c);
}

#endif

}  // namespace

ngx_http_registry_cache_proof_t ngx_http_registry_cache_prove_file(ngx_http_request_t *r,
                                                                   ngx_http_registry_cache_request_t &state,
                                                                   const ngx_http_registry_cache_stored_file_t &file,
                                                                   ngx_http_registry_cache_proven_t done,
                                                                   void *data) noexcept {
    using proof = ngx_http_registry_cache_proof_t;
    const struct stat &opened = file.opened;
    const ngx_msec_t window = proof_window(state, file.part);
    if (window > 0 && proven_within(opened, file.expected, window)) {
        return proof::proven;
    }
    const std::size_t scratch_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(scratch_size, file.size + 1));
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(proof_t));
    u_char *scratch = static_cast<u_char *>(ngx_palloc(r->pool, scratch_bytes));
    if (cln == nullptr || scratch == nullptr) {
        return proof::failed;
    }
    proof_t *p;
    try {
        p = new (cln->data) proof_t{};
        cln->handler = destroy;
        p->expected.assign(file.expected);
        p->path.assign(file.path);
        p->job.add_file(file.fd, 0, file.size);
    } catch (...) {
        return proof::failed;
    }
    p->r = r;
    p->state = &state;
    p->fd = file.fd;
    p->opened = opened;
    p->looked = file.looked;
    p->window = std::max(window, proof_reuse_ms);
    p->scratch = scratch;
    p->done = done;
    p->data = data;
    if (!p->hasher.start(registry_cache::parse_digest(file.expected).digest.algorithm)) {
        return proof::failed;
    }
#if (NGX_THREADS)
    if (state.verify.threads != nullptr && file.size >= thread_min_size) {
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
        p->keep_alive.handler = keep_alive;
        p->keep_alive.data = p;
        p->keep_alive.log = r->connection->log;
        p->keep_alive.cancelable = 0;
        keep_alive(&p->keep_alive);
        return proof::proving;
    }
#endif
    // Small, or `registry_cache_verify on` (no thread pool): hashed here, as that mode
    // hashes everything on the event loop.
    p->ran_ok = p->job.run(p->hasher, p->scratch, scratch_bytes);
    try {
        return judge(*p) ? proof::proven : proof::refuted;
    } catch (...) {
        return proof::failed;
    }
}
