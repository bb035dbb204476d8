// Proving a blob body on the store's disk before a byte of it is sent: the whole file is
// hashed (in the location's thread pool when it has one) and compared with the digest that
// names it. A file damaged on disk is then a miss that the upstream answers whole, never a
// transfer cut part way, which registry clients resuming with a Range would assemble wrong.
#pragma once

#include "state/request.h"

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <string_view>

// Called back on the event loop once a proof that ran in a thread is in, with the client
// still there; it finalizes the request. `data` is the caller's, as given.
using ngx_http_registry_cache_proven_t = void (*)(ngx_http_request_t *r, void *data, bool proven);

enum class ngx_http_registry_cache_proof_t {
    proving,  // in a thread: `done` follows; the request holds a reference (r->main->count)
    proven,   // hashed here, to the digest: send it
    refuted,  // not what the digest names (or unreadable): its file and record are gone,
              // unless a good body replaced the file meanwhile
    failed    // could not be run (no memory, a full queue): nothing is known of the file
};

// What is to be proven: `size` bytes of `fd`, the file at `path`, against `expected`
// ("algorithm:hex", the route's digest). `part`: only a part of it is asked for (a Range),
// which a proof of the same file made moments ago in this worker answers too (containerd
// fetches one blob in parallel ranges, each of which would hash it whole). A whole body is
// answered by an earlier proof only within the location's registry_cache_stored_proof_ttl.
struct ngx_http_registry_cache_stored_file_t {
    ngx_fd_t fd;
    const char *path;  // NUL-terminated
    std::uint64_t size;
    std::string_view expected;
    bool part;
    struct stat opened;  // the file as its open looked at it (no second fstat on a hit)
    time_t looked;       // and when
};

ngx_http_registry_cache_proof_t ngx_http_registry_cache_prove_file(ngx_http_request_t *r,
                                                                   ngx_http_registry_cache_request_t &state,
                                                                   const ngx_http_registry_cache_stored_file_t &file,
                                                                   ngx_http_registry_cache_proven_t done,
                                                                   void *data) noexcept;
