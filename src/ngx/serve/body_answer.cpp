// A blob's body answered from the store's disk (lookup.h): the file opened as nginx opens a
// static one, checked against its record, and proven (hashed whole) before it is sent.
#include "process/writer.h"
#include "serve/lookup.h"
#include "verify/prove_file.h"

#include "registry_cache/policy/credentials.h"

#include <string>
#include <type_traits>

using registry_cache::LookupStatus;
using status_t = ngx_http_registry_cache_status_t;

namespace {

// Opens the file of a body the store records, as nginx opens a static file; false when it is
// not there or not of the size recorded (then its record goes: the next GET stores it anew).
bool open_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
               const registry_cache::BodyLookup &found, ngx_http_registry_cache_body_file_t &file) {
    ngx_http_registry_cache_worker_t *w = state.cache->worker;
    const std::string path = w->blobs->path_of(state.asked.route.digest);
    // In the request's pool, NUL-terminated for open(): the file's name while it is sent.
    auto *name = static_cast<u_char *>(ngx_pnalloc(r->pool, path.size() + 1));
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (path.empty() || name == nullptr || cln == nullptr) {
        return false;
    }
    ngx_memcpy(name, path.c_str(), path.size() + 1);
    file.path = ngx_str_t{path.size(), name};
    file.fd = ngx_open_file(name, NGX_FILE_RDONLY | NGX_FILE_NONBLOCK, NGX_FILE_OPEN, 0);
    ngx_file_info_t &info = file.info;
    file.looked = time(nullptr);
    const bool there = file.fd != NGX_INVALID_FILE;
    const bool sound = there && ngx_fd_info(file.fd, &info) != NGX_FILE_ERROR &&
                       ngx_is_file(&info) &&
                       static_cast<std::uint64_t>(ngx_file_size(&info)) == found.body.size &&
                       found.body.size == found.descriptor.size;
    if (there) {
        auto *clnf = static_cast<ngx_pool_cleanup_file_t *>(cln->data);
        clnf->fd = file.fd;
        clnf->name = name;
        clnf->log = r->connection->log;
        cln->handler = ngx_pool_cleanup_file;
    }
    if (sound) {
        file.size = ngx_file_size(&info);
        return true;
    }
    ngx_log_error(NGX_LOG_WARN, r->connection->log, there ? 0 : ngx_errno,
                  "registry cache: the blob body \"%s\" is %s; its record is dropped", path.c_str(),
                  there ? "not of the size recorded" : "missing");
    ngx_http_registry_cache_forget_body(state.cache, registry_cache::digest_text(state.asked.route),
                                        r->connection->log);
    return false;
}

// What a proof running in a thread leaves for its verdict.
struct pending_t {
    ngx_http_registry_cache_request_t *state;
    registry_cache::BodyLookup found;
    ngx_http_registry_cache_body_file_t file;
};
static_assert(std::is_trivially_destructible_v<pending_t>, "it lives in the request pool");

// The file, proven: sent, counted, and its record's time renewed when due.
ngx_int_t send_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                    const registry_cache::BodyLookup &found,
                    const ngx_http_registry_cache_body_file_t &file) {
    // Served again an hour or more after its record's time: renewed, so that eviction, which
    // goes oldest first, keeps what is used (one write an hour at most per body). Committed
    // now, before the answer goes: another worker may choose what to evict for the client's
    // very next request before this worker's queue would be committed.
    if (registry_cache::body_touch_due(found.body, static_cast<std::uint64_t>(ngx_time()))) {
        ngx_http_registry_cache_teach_body(r, state, registry_cache::digest_text(state.asked.route),
                                           found.body.size, false);
        ngx_http_registry_cache_flush(state.cache, r->connection->log);
    }
    auto &sh = *state.cache->sh;
    ngx_http_registry_cache_count(sh.body_bytes_served, static_cast<ngx_atomic_int_t>(file.size));
    // (a link revalidated, or answered stale, was counted as such)
    if (state.lookup.status != status_t::revalidated && state.lookup.status != status_t::stale) {
        ngx_http_registry_cache_count(sh.body_hits);
        state.lookup.status = status_t::hit;
    }
    return ngx_http_registry_cache_send_hit(r, state.asked.route, found.descriptor, &file);
}

// The verdict of a proof that ran in a thread, the client still there.
void proven_in_thread(ngx_http_request_t *r, void *data, bool proven) noexcept {
    auto &pending = *static_cast<pending_t *>(data);
    ngx_int_t rc;
    try {
        rc = proven ? send_body(r, *pending.state, pending.found, pending.file)
                    : ngx_http_registry_cache_body_miss(r, *pending.state);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: %s", e.what());
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_finalize_request(r, rc);
}

}  // namespace

// Answers a GET of a blob from the store's disk when its link is servable and its file is
// whole and, where the location verifies, hashes to its name (a damaged file is removed and
// never sent); NGX_DECLINED, with nothing sent, when it cannot; NGX_DONE while a thread
// proves the file (the request then goes on from there, answered or passed upstream).
// `state` is attached to the request.
ngx_int_t ngx_http_registry_cache_answer_body(ngx_http_request_t *r,
                                              ngx_http_registry_cache_request_t &state,
                                              const registry_cache::BodyLookup &found) {
    ngx_http_registry_cache_body_file_t file{};
    if (found.status != LookupStatus::hit ||
        !registry_cache::link_servable(found.link.scope, state.asked.proven) ||
        found.body_status != LookupStatus::hit || !open_body(r, state, found, file))
    {
        return NGX_DECLINED;
    }
    if (!state.verify.on) {
        return send_body(r, state, found, file);
    }
    auto *pending = static_cast<pending_t *>(ngx_palloc(r->pool, sizeof(pending_t)));
    if (pending == nullptr) {
        return NGX_DECLINED;
    }
    *pending = pending_t{&state, found, file};
    // (file.path is NUL-terminated: open_body made it so for open())
    const ngx_http_registry_cache_stored_file_t stored{file.fd,
                                                       reinterpret_cast<const char *>(file.path.data),
                                                       found.body.size,
                                                       registry_cache::digest_text(state.asked.route),
                                                       r->headers_in.range != nullptr,
                                                       file.info,
                                                       file.looked};
    switch (ngx_http_registry_cache_prove_file(r, state, stored, proven_in_thread, pending)) {
        case ngx_http_registry_cache_proof_t::proving:
            return NGX_DONE;
        case ngx_http_registry_cache_proof_t::proven:
            return send_body(r, state, found, file);
        case ngx_http_registry_cache_proof_t::refuted:
        case ngx_http_registry_cache_proof_t::failed:
            break;
    }
    return NGX_DECLINED;
}
