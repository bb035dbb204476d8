// Responses replaced by OCI error JSON: nginx's own 502/504 (the upstream gave no answer at
// all) and upstream answers the cache refuses to relay (a body named by digest that cannot
// be verified); and by the upstream's last answer to a ping, replayed (replay_ping.cpp). Registry clients parse `{"errors":[...]}`, not nginx's HTML pages. The
// header half rewrites the response before it leaves; the body half sends the JSON once and
// drops whatever body nginx or the upstream would have sent.
#include "upstream/upstream.h"
#include "process/request_state.h"
#include "reply/headers.h"

#include <string>

#include "registry_cache/oci_error.h"

namespace {

ngx_http_output_body_filter_pt next_body_filter;

// Forgets every header of the response so far: they describe a body that will not be sent
// (Docker-Content-Digest, Etag, Content-Encoding, Content-Range of the upstream's answer).
void drop_headers(ngx_http_request_t *r) noexcept {
    for (ngx_list_part_t *part = &r->headers_out.headers.part; part != nullptr; part = part->next) {
        auto *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            h[i].hash = 0;
        }
    }
    ngx_http_headers_out_t &out = r->headers_out;
    out.content_length = nullptr;
    out.content_encoding = nullptr;
    out.location = nullptr;
    out.refresh = nullptr;
    out.last_modified = nullptr;
    out.content_range = nullptr;
    out.accept_ranges = nullptr;
    out.www_authenticate = nullptr;
    out.expires = nullptr;
    out.etag = nullptr;
    out.last_modified_time = -1;
    r->allow_ranges = 0;
}

// Consumes what nginx or the upstream hands on after the JSON, so that their buffers are free
// to be reused (with proxy_buffering off the upstream reads into them again).
void consume(ngx_chain_t *in) noexcept {
    for (ngx_chain_t *cl = in; cl != nullptr; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr || state->error_page.body.len == 0) {
        return next_body_filter(r, in);
    }
    consume(in);
    if (state->error_page.sent) {
        return NGX_OK;
    }
    state->error_page.sent = true;
    auto *b = static_cast<ngx_buf_t *>(ngx_pcalloc(r->pool, sizeof(ngx_buf_t)));
    if (b == nullptr) {
        return NGX_ERROR;
    }
    b->pos = state->error_page.body.data;
    b->last = state->error_page.body.data + state->error_page.body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};
    return next_body_filter(r, &out);
}

}  // namespace

bool ngx_http_registry_cache_replace_response(ngx_http_request_t *r,
                                              ngx_http_registry_cache_request_t &state,
                                              ngx_uint_t status, std::string_view body) noexcept {
    static ngx_str_t json = ngx_string("application/json; charset=utf-8");
    if (!ngx_http_registry_cache_pool_copy(r->pool, body, state.error_page.body)) {
        return false;
    }
    drop_headers(r);
    // Replacing an answer the upstream is still sending: its body is read to its end and
    // dropped, and a client waiting on this connection for its next answer would wait for
    // that too. The connection closes after the error instead.
    if (r->upstream != nullptr && r->upstream->headers_in.status_n != 0) {
        r->keepalive = 0;
    }
    r->headers_out.status = status;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_type = json;
    r->headers_out.content_type_len = json.len;
    r->headers_out.content_type_lowcase = nullptr;
    r->headers_out.charset.len = 0;
    r->headers_out.content_length_n = static_cast<off_t>(state.error_page.body.len);
    return true;
}

bool ngx_http_registry_cache_replace_with_error(ngx_http_request_t *r,
                                                ngx_http_registry_cache_request_t &state,
                                                ngx_uint_t status, const char *detail) noexcept {
    try {
        const std::string body =
            registry_cache::render_error_body(registry_cache::OciErrorCode::unavailable, detail);
        return ngx_http_registry_cache_replace_response(r, state, status, body) &&
               ngx_http_registry_cache_add_registry_headers(r);
    } catch (...) {
        return false;  // out of memory: the caller fails the request
    }
}

ngx_int_t ngx_http_registry_cache_error_page_init(ngx_conf_t *) noexcept {
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}
