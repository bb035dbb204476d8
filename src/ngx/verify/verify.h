// The verifying body filter's own declarations, shared by verify_filter.cpp (the filter),
// verify_pieces.cpp (the buffers it holds) and verify_hashing.cpp (hashing and judging).
//
// Buffers: each buffer that reaches the filter is relayed as a shadow (a copy of its ngx_buf_t
// over the same bytes), and the buffer itself is left unconsumed until its bytes are hashed
// and the shadow is sent. Its owner (the upstream's buffer, the event pipe) reuses memory only
// once it is consumed, so a thread never hashes bytes that are being overwritten.
#pragma once

#include "verify/verify_filter.h"

#include <deque>
#include <string>
#include <vector>

#include "registry_cache/blobs/blob_files.h"
#include "registry_cache/hash_job.h"
#include "registry_cache/hasher.h"

namespace registry_cache_verify {

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
    // Taken with the piece, so that relaying (after the verdict too) never allocates: a
    // body judged good is never cut for want of memory.
    ngx_buf_t *shadow_memory;
    ngx_chain_t *link;
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

}  // namespace registry_cache_verify

struct ngx_http_registry_cache_verify_t {
    ngx_http_request_t *r;
    ngx_http_registry_cache_request_t *state;
    registry_cache::Hasher hasher;  // the thread's while a job is in flight, like `job`
    registry_cache::HashJob job;
    bool job_ok;                    // set by the thread
    bool in_flight;
    std::deque<registry_cache_verify::Piece> pieces;       // not yet retired, in order
    ngx_buf_t *spare_shadows;  // retired shadows, linked through their `shadow` field
    ngx_str_t expected;      // "algorithm:hex"
    off_t length;            // the Content-Length the upstream declared; -1: none
    ngx_uint_t status;       // the upstream's status: a filter that changes it made a part
    bool teaches;            // a verified body may be recorded (a 200)
    ngx_str_t content_type;  // for the descriptor the verified body teaches
    // A manifest by digest, kept as it streams so that a verified body can be stored. Given
    // up (never the transfer) when it outgrows registry_cache_manifest_max_size, arrives in
    // a file (nginx's temp file: bigger than its buffers) or memory runs out.
    bool keeps_manifest;
    size_t manifest_limit;
    std::string manifest_body;
    // A blob body copied to the store's disk as it is hashed (blobs_max_size), by the same
    // jobs, and published once it verified; removed on every other path (its destructor).
    registry_cache::TempBody body_file;
    std::uint64_t body_copied;  // bytes written to it so far
    u_char *scratch;         // for bytes in a file; allocated when the first such comes
    std::uint64_t received;  // bytes that reached the filter
    bool end_seen;           // the buffer with the last byte arrived
    bool started;            // the body filter saw the response
    bool matched;            // judged: the body is what the digest names
    bool failed;             // refused: nothing more of it may pass
    bool dropped;            // not this body's to judge: nginx sent a part of it (Range)
#if (NGX_THREADS)
    ngx_thread_task_t *task;
    // Armed while a job is in the pool: a job that does not come back within send_timeout
    // (a stuck or starved pool) must not keep the client waiting for the held end forever.
    ngx_event_t job_timer;
    bool job_late;           // the timer fired: the body is refused when the job returns
#endif
};

namespace registry_cache_verify {

using verify_t = ngx_http_registry_cache_verify_t;

// The buffers (verify_pieces.cpp).
void take_in(verify_t &v, ngx_chain_t *in);
ngx_chain_t *relay(verify_t &v) noexcept;
void retire(verify_t &v) noexcept;
bool holds_back(const verify_t &v) noexcept;
bool holds_bytes(const verify_t &v) noexcept;

// Hashing and judging (verify_hashing.cpp).
bool advance(verify_t &v);
void refuse(verify_t &v) noexcept;
void forget_cached_body(ngx_http_request_t *r, bool failed) noexcept;
bool client_gone(ngx_http_request_t *r) noexcept;
// Counts a body that is not what its digest names, logs it with `detail`, records nothing.
void report_mismatch(verify_t &v, ngx_str_t detail) noexcept;
// A manifest that will not be kept (too large, in a file): the flight its request leads, if
// any, lands now, so that those waiting for it go upstream at once rather than wait out
// a transfer that records nothing (verify_filter.cpp).
void manifest_not_kept(verify_t &v) noexcept;

}  // namespace registry_cache_verify
