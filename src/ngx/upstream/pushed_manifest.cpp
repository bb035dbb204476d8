// A manifest pushed through the edge: its bytes are kept as they pass on their way upstream
// (a request body filter, at most registry_cache_manifest_max_size of them), so that the
// registry's 201 can teach the manifest when they hash to the digest it answers
// (registry_cache::learn_pushed_manifest). Nothing else of a request body is kept.
#include "upstream/upstream.h"
#include "process/request_state.h"
#include "process/writer.h"

#include "registry_cache/learn.h"
#include "registry_cache/store_write.h"

namespace {

ngx_http_request_body_filter_pt next_body_filter;

void keep_pushed_bytes(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state, const ngx_chain_t *in) noexcept {
    auto &p = state.pushed;
    for (const ngx_chain_t *cl = in; cl != nullptr && !p.overflow; cl = cl->next) {
        const ngx_buf_t *b = cl->buf;
        if (b->in_file || (b->pos == nullptr && ngx_buf_size(b) != 0)) {
            p.overflow = true;  // only bytes in memory are seen here
            break;
        }
        const auto size = static_cast<std::size_t>(b->last - b->pos);
        if (size == 0) continue;
        if (p.data == nullptr) {
            // The declared length, when within the limit: a push without one is not kept.
            const off_t declared = r->headers_in.content_length_n;
            if (declared <= 0 || static_cast<std::size_t>(declared) > state.verify.manifest_max_size) {
                p.overflow = true;
                break;
            }
            p.cap = static_cast<std::size_t>(declared);
            p.data = static_cast<u_char *>(ngx_palloc(r->pool, p.cap));
            if (p.data == nullptr) {
                p.overflow = true;
                break;
            }
        }
        if (size > p.cap - p.len) {
            p.overflow = true;
            break;
        }
        ngx_memcpy(p.data + p.len, b->pos, size);
        p.len += size;
    }
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    ngx_http_registry_cache_request_t *state = r == r->main ? ngx_http_registry_cache_find_state(r) : nullptr;
    if (state != nullptr && state->pushed.on) keep_pushed_bytes(r, *state, in);
    return next_body_filter(r, in);
}

}  // namespace

ngx_int_t ngx_http_registry_cache_pushed_manifest_init(ngx_conf_t *) noexcept {
    next_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = body_filter;
    return NGX_OK;
}

void ngx_http_registry_cache_learn_pushed_manifest(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                                   const registry_cache::UpstreamAnswer &answer) noexcept {
    const auto &p = state.pushed;
    if (!p.on || p.overflow || p.data == nullptr || p.len != p.cap || !state.lookup.may_record) return;
    const std::string_view body(reinterpret_cast<const char *>(p.data), p.len);
    const std::string_view type = r->headers_in.content_type != nullptr
                                      ? ngx_http_registry_cache_view(r->headers_in.content_type->value)
                                      : std::string_view{};
    try {
        registry_cache::BlobDescriptor descriptor;
        if (!registry_cache::learn_pushed_manifest(state.asked.route, state.asked.method, answer, body, type,
                                                   descriptor)) {
            return;
        }
        descriptor.stored_at = static_cast<std::uint64_t>(ngx_time());
        ngx_http_registry_cache_teach_manifest(r, state, answer.docker_content_digest, descriptor, body);
    } catch (...) {
        // Out of memory: the push is answered as it is, and teaches nothing.
    }
}
