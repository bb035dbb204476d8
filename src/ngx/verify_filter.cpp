// Verified bytes: the body of every 200 to a GET that names a digest is hashed as it streams
// to the client. Its final bytes are passed on only once the whole body hashed to the digest
// and its length is the declared one; otherwise the client's connection is cut before the
// response completes (a failed transfer, never a complete 200 with wrong bytes), nothing is
// recorded, and a proxy_cache in the same location is told not to keep it.
#include "ngx_registry_cache.h"

#include <new>
#include <string>

#include "registry_cache/hasher.h"

struct ngx_http_registry_cache_verify_t {
    registry_cache::Hasher hasher;
    ngx_str_t expected;      // "algorithm:hex"
    off_t length;            // the Content-Length the upstream declared; -1: none
    ngx_str_t content_type;  // for the descriptor the verified body teaches
    u_char *scratch;         // for bodies nginx buffered to a temporary file
    bool done;               // the end was judged
    bool failed;             // the body was refused: nothing more of it may pass
};

namespace {

constexpr size_t scratch_size = 64 * 1024;

ngx_http_output_body_filter_pt next_body_filter;

void destroy(void *data) noexcept {
    static_cast<ngx_http_registry_cache_verify_t *>(data)->~ngx_http_registry_cache_verify_t();
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

bool hash_buf(ngx_http_request_t *r, ngx_http_registry_cache_verify_t &v, const ngx_buf_t *b) {
    if (ngx_buf_in_memory(b)) {
        return v.hasher.update(b->pos, static_cast<size_t>(b->last - b->pos));
    }
    if (!b->in_file) {
        return true;  // flush, sync: no data
    }
    if (v.scratch == nullptr) {
        v.scratch = static_cast<u_char *>(ngx_palloc(r->pool, scratch_size));
        if (v.scratch == nullptr) {
            return false;
        }
    }
    for (off_t at = b->file_pos; at < b->file_last;) {
        size_t want = static_cast<size_t>(ngx_min(static_cast<off_t>(scratch_size), b->file_last - at));
        ssize_t got = ngx_read_file(b->file, v.scratch, want, at);
        if (got <= 0 || !v.hasher.update(v.scratch, static_cast<size_t>(got))) {
            return false;
        }
        at += got;
    }
    return true;
}

// A body that failed verification must not stay in a proxy_cache of the same location:
// u->cacheable = 0 keeps nginx from storing it; if nginx stored it already (the upstream
// finished before the client got the last bytes), the stored file is deleted, so the next
// request for it misses and goes upstream. The cache node itself is left to nginx (touching
// it after nginx released it could write freed shared memory).
void forget_cached_body(ngx_http_request_t *r) noexcept {
    if (r->upstream != nullptr) {
        r->upstream->cacheable = 0;
    }
#if (NGX_HTTP_CACHE)
    ngx_http_cache_t *c = r->cache;
    if (c == nullptr || !c->updated || c->file.name.len == 0) {
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
ngx_int_t refuse(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                 ngx_http_registry_cache_verify_t &v) noexcept {
    v.done = true;
    v.failed = true;
    state.may_record = false;
    forget_cached_body(r);
    r->keepalive = 0;
    r->connection->error = 1;
    return NGX_ERROR;
}

// Ends verification; true when the body is what the digest names.
bool finish(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
            ngx_http_registry_cache_verify_t &v) {
    v.done = true;
    std::uint64_t bytes = v.hasher.bytes();
    std::string computed = v.hasher.finish();
    std::string_view expected = ngx_http_registry_cache_view(v.expected);
    bool length_ok = v.length < 0 || static_cast<std::uint64_t>(v.length) == bytes;
    auto &sh = *state.cache->sh;

    if (!computed.empty() && computed == expected && length_ok) {
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
    ngx_str_t repository{state.route.name.size(),
                         reinterpret_cast<u_char *>(const_cast<char *>(state.route.name.data()))};
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "registry cache: digest mismatch in repository \"%V\": expected %V, "
                  "computed %s over %uL bytes%s; the transfer is cut",
                  &repository, &v.expected, computed.empty() ? "nothing" : computed.c_str(), bytes,
                  length_ok ? "" : " (not the declared Content-Length)");
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
    ngx_http_registry_cache_verify_t &v = *state->verify;
    if (v.failed) {
        return NGX_ERROR;  // not even a final empty buffer: it would complete the response
    }
    if (v.done) {
        return next_body_filter(r, in);
    }
    try {
        for (ngx_chain_t *cl = in; cl != nullptr; cl = cl->next) {
            if (!hash_buf(r, v, cl->buf)) {
                // The bytes could not be checked: they are refused, but are no mismatch.
                ngx_http_registry_cache_count(state->cache->sh->errors);
                ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                              "registry cache: hashing the body failed; the transfer is cut");
                return refuse(r, *state, v);
            }
            // The end: the declared length reached (the last bytes are still ours to hold
            // back), or, without a length, the last buffer.
            bool end = cl->buf->last_buf ||
                       (v.length >= 0 && v.hasher.bytes() >= static_cast<std::uint64_t>(v.length));
            if (end) {
                if (!finish(r, *state, v)) {
                    return refuse(r, *state, v);
                }
                break;
            }
        }
    } catch (const std::exception &e) {
        ngx_http_registry_cache_count(state->cache->sh->errors);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: verification: %s", e.what());
        return refuse(r, *state, v);
    }
    return next_body_filter(r, in);
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
#if (NGX_HTTP_CACHE)
    if (r->cache != nullptr) {
        // A proxy_cache hit was verified when it was stored (a body that failed is never
        // left there), and hashing a stored file here would read it whole, blocking.
        if (r->upstream->cache_status == NGX_HTTP_CACHE_HIT) {
            return false;
        }
        // Without a length, nginx may store the body before its last byte reaches this
        // filter: such a body is relayed verified but not stored.
        if (answer.content_length < 0) {
            r->upstream->cacheable = 0;
        }
    }
#endif

    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_registry_cache_verify_t));
    if (cln == nullptr) {
        return false;
    }
    auto *v = new (cln->data) ngx_http_registry_cache_verify_t{};
    cln->handler = destroy;
    v->length = answer.content_length;
    if (!pool_copy(r->pool, expected, v->expected) ||
        !pool_copy(r->pool, answer.content_type, v->content_type) ||
        !v->hasher.start(registry_cache::parse_digest(expected).digest.algorithm))
    {
        return false;
    }
    state.verify = v;
    return true;
}

ngx_int_t ngx_http_registry_cache_verify_filter_init(ngx_conf_t *) noexcept {
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}
