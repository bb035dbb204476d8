// A blob pushed through the edge whose size the edge does not know (it keeps no body of the
// digest, nor a link of a mount's source): the size is never the client's to say, so the
// edge asks the registry, with one HEAD of the blob in the pushed repository once the push
// is answered. A background subrequest: the client's push is answered at once, and its
// connection waits only for the HEAD to end before it is kept alive. What the HEAD answers
// teaches as a miss's HEAD would (registry_cache::learn), under the push's credentials.
#include "upstream/upstream.h"
#include "process/request_state.h"
#include "process/writer.h"

#include <string>

#include "registry_cache/learn.h"
#include "registry_cache/route.h"

namespace {

// Runs as the HEAD ends, the push's request still held (the subrequest holds a reference).
ngx_int_t pushed_head_done(ngx_http_request_t *sr, void *, ngx_int_t rc) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(sr->main);
    ngx_http_upstream_t *u = sr->upstream;
    if (state == nullptr || u == nullptr || rc != NGX_OK) {
        return rc;
    }
    try {
        const std::string_view path = ngx_http_registry_cache_view(sr->uri);
        const registry_cache::Route blob = registry_cache::parse_route(path);
        registry_cache::UpstreamAnswer answer;
        answer.path = path;
        answer.status = static_cast<int>(u->headers_in.status_n);
        std::string_view digest;
        if (ngx_http_registry_cache_find_header(u->headers_in.headers, "Docker-Content-Digest", digest) == 1) {
            answer.docker_content_digest = digest;
        }
        answer.content_length = u->headers_in.content_length_n;
        if (u->headers_in.content_type != nullptr) {
            answer.content_type = ngx_http_registry_cache_view(u->headers_in.content_type->value);
        }
        std::string_view ignored;
        answer.content_encoded =
            ngx_http_registry_cache_find_header(u->headers_in.headers, "Content-Encoding", ignored) > 0;
        registry_cache::BlobDescriptor descriptor;
        if (blob.error == registry_cache::RouteError::none &&
            registry_cache::learn(blob, registry_cache::Method::head, answer, static_cast<std::uint64_t>(ngx_time()),
                                  descriptor) == registry_cache::Lesson::record) {
            ngx_http_registry_cache_teach_pushed_link(sr, *state, registry_cache::digest_text(blob), descriptor);
        }
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0, "registry cache: %s", e.what());
    }
    return rc;
}

}  // namespace

void ngx_http_registry_cache_ask_pushed_size(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                             const registry_cache::PushedBlob &pushed) noexcept {
    static ngx_str_t head = ngx_string("HEAD");
    // Mirror mode's token is the edge's to add to what the client asks: a subrequest of ours
    // would go without it.
    if (!state.lookup.may_record || state.mirror.conf != nullptr) return;
    // The blob's path beside the upload's, as this request's URI spells the repository (the
    // location, and so the upstream, are the same).
    static constexpr std::string_view uploads = "/blobs/uploads/";
    const std::string_view uri = ngx_http_registry_cache_view(r->uri);
    const std::size_t at = uri.rfind(uploads);
    if (at == std::string_view::npos) return;
    ngx_str_t path;
    auto *ps = static_cast<ngx_http_post_subrequest_t *>(ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    try {
        const std::string blob = std::string(uri.substr(0, at)) + "/blobs/" + pushed.digest;
        if (ps == nullptr || !ngx_http_registry_cache_pool_copy(r->pool, blob, path)) return;
    } catch (...) {
        return;
    }
    ps->handler = pushed_head_done;
    ps->data = nullptr;
    // The push's own query goes too: it carries what selects the upstream (?ns=); the
    // registry ignores the rest on a HEAD.
    ngx_http_request_t *sr;
    if (ngx_http_subrequest(r, &path, &r->args, &sr, ps, NGX_HTTP_SUBREQUEST_BACKGROUND) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: cannot ask the size of a pushed blob; its link is not learned");
        return;
    }
    sr->method = NGX_HTTP_HEAD;
    sr->method_name = head;
    sr->header_only = 1;
    // The push's body is the push's: the HEAD declares none.
    sr->request_body = nullptr;
    sr->headers_in.content_length = nullptr;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.chunked = 0;
    sr->headers_in.transfer_encoding = nullptr;
}
