// Responses the module writes itself: cache hits, OCI errors, and plain bodies (metrics).
#include "serve/serve.h"
#include "reply/headers.h"

#include <optional>
#include <string>

#include "registry_cache/conditional.h"
#include "registry_cache/learn.h"
#include "registry_cache/oci_error.h"

namespace {

std::optional<std::string_view> header_value(const ngx_table_elt_t *h) noexcept {
    if (h == nullptr) {
        return std::nullopt;
    }
    return ngx_http_registry_cache_view(h->value);
}

}  // namespace

namespace {

// "\"algorithm:hex\"": the Etag distribution gives blobs and manifests alike.
bool quoted_digest(ngx_http_request_t *r, std::string_view digest, ngx_str_t &etag) noexcept {
    etag.len = digest.size() + 2;
    etag.data = static_cast<u_char *>(ngx_pnalloc(r->pool, etag.len));
    if (etag.data == nullptr) {
        return false;
    }
    etag.data[0] = '"';
    ngx_memcpy(etag.data + 1, digest.data(), digest.size());
    etag.data[digest.size() + 1] = '"';
    return true;
}

// Docker-Content-Digest and Etag, both from `etag` (quoted_digest's copy in the request's
// pool): headers are read again when the request is logged ($sent_http_docker_content_digest),
// long after the lookup that named a tag's digest is gone.
bool add_digest_headers(ngx_http_request_t *r, const ngx_str_t &etag) noexcept {
    static ngx_str_t digest_key = ngx_string("Docker-Content-Digest");
    static ngx_str_t etag_key = ngx_string("Etag");
    const ngx_str_t digest{etag.len - 2, etag.data + 1};
    return ngx_http_registry_cache_add_header(r, digest_key, digest) &&
           ngx_http_registry_cache_add_header(r, etag_key, etag);
}

// Sends the headers and then `b`, the whole body, as the last buffer of the response.
ngx_int_t send_with_body(ngx_http_request_t *r, ngx_buf_t *b) noexcept {
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }
    ngx_chain_t out{b, nullptr};
    return ngx_http_output_filter(r, &out);
}

bool set_content_type(ngx_http_request_t *r, std::string_view media_type) noexcept {
    ngx_str_t type;
    if (!ngx_http_registry_cache_pool_copy(r->pool, media_type, type)) {
        return false;
    }
    r->headers_out.content_type = type;
    r->headers_out.content_type_len = type.len;
    return true;
}

}  // namespace

// What distribution sends for a blob it has: the same status line and header set.
ngx_int_t ngx_http_registry_cache_send_hit(ngx_http_request_t *r,
                                           const registry_cache::Route &route,
                                           const registry_cache::BlobDescriptor &d,
                                           const ngx_http_registry_cache_body_file_t *file) {
    static ngx_str_t cache_control_key = ngx_string("Cache-Control");
    static ngx_str_t cache_control = ngx_string("max-age=31536000");
    static ngx_str_t accept_ranges_key = ngx_string("Accept-Ranges");
    static ngx_str_t accept_ranges = ngx_string("bytes");

    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    std::string_view digest = registry_cache::digest_text(route);
    ngx_str_t etag;
    if (!quoted_digest(r, digest, etag)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    auto precondition = registry_cache::evaluate_preconditions(
        header_value(r->headers_in.if_match), header_value(r->headers_in.if_none_match),
        ngx_http_registry_cache_view(etag));
    // The preconditions are decided here, as distribution decides them; nginx's own
    // not_modified filter would answer If-Unmodified-Since with 412 for want of a date.
    r->disable_not_modified = 1;

    if (precondition == registry_cache::Precondition::failed) {
        r->headers_out.status = NGX_HTTP_PRECONDITION_FAILED;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }
    if (!ngx_http_registry_cache_add_header(r, cache_control_key, cache_control) ||
        !add_digest_headers(r, etag) ||
        !ngx_http_registry_cache_add_registry_headers(r))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (precondition == registry_cache::Precondition::not_modified) {
        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }
    // With a body, nginx's range filter answers a Range and says Accept-Ranges itself when
    // there is none (one more of ours would be a second header).
    const bool ranges = file != nullptr && r->method == NGX_HTTP_GET;
    if (!set_content_type(r, d.media_type.view()) ||
        (!(ranges && r->headers_in.range == nullptr) &&
         !ngx_http_registry_cache_add_header(r, accept_ranges_key, accept_ranges)))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = static_cast<off_t>(d.size);
    if (!ranges) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }
    r->allow_ranges = 1;

    auto *b = static_cast<ngx_buf_t *>(ngx_pcalloc(r->pool, sizeof(ngx_buf_t)));
    auto *f = static_cast<ngx_file_t *>(ngx_pcalloc(r->pool, sizeof(ngx_file_t)));
    if (b == nullptr || f == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    f->fd = file->fd;
    f->name = file->path;
    f->log = r->connection->log;
    b->file = f;
    b->file_pos = 0;
    b->file_last = file->size;
    b->in_file = file->size > 0 ? 1 : 0;
    return send_with_body(r, b);
}

// What distribution sends for a manifest by digest (registry/handlers/manifests.go): 304
// with the API's headers alone, or 200 with Content-Type, Content-Length,
// Docker-Content-Digest, Etag and the body as it was stored (never rewritten, Range or not).
namespace {

// The header of a manifest's answer, sent when it is all (a 304, a HEAD): what the handler
// returns then, or NGX_DECLINED for a body to follow.
ngx_int_t send_manifest_header(ngx_http_request_t *r, std::string_view digest, std::string_view media_type,
                               off_t length, bool not_modified) {
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }
    r->disable_not_modified = 1;
    if (!ngx_http_registry_cache_add_registry_headers(r)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (not_modified) {
        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    ngx_str_t etag;
    if (!quoted_digest(r, digest, etag) || !add_digest_headers(r, etag) ||
        !set_content_type(r, media_type))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = length;
    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }
    return NGX_DECLINED;
}

}  // namespace

ngx_int_t ngx_http_registry_cache_send_tag_head(ngx_http_request_t *r, std::string_view digest,
                                                std::string_view media_type, std::uint64_t size,
                                                bool not_modified) {
    const ngx_int_t rc = send_manifest_header(r, digest, media_type, static_cast<off_t>(size), not_modified);
    return rc == NGX_DECLINED ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;  // only ever a HEAD
}

ngx_int_t ngx_http_registry_cache_send_manifest(ngx_http_request_t *r, std::string_view digest,
                                                std::string_view media_type, std::string_view body,
                                                bool not_modified) {
    const ngx_int_t rc = send_manifest_header(r, digest, media_type, static_cast<off_t>(body.size()), not_modified);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    // The store's copy goes when the handler returns: the body is copied into the request.
    ngx_buf_t *b = ngx_create_temp_buf(r->pool, body.size());
    if (b == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    b->last = ngx_cpymem(b->last, body.data(), body.size());
    return send_with_body(r, b);
}

ngx_int_t ngx_http_registry_cache_send_body(ngx_http_request_t *r, ngx_str_t content_type,
                                            const char *data, size_t len) noexcept {
    r->headers_out.content_length_n = static_cast<off_t>(len);
    r->headers_out.content_type = content_type;
    r->headers_out.content_type_len = content_type.len;
    r->headers_out.content_type_lowcase = nullptr;
    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = 1;
    }

    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    ngx_buf_t *b = ngx_create_temp_buf(r->pool, len);
    if (b == nullptr) {
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->last, data, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_chain_t out{b, nullptr};
    return ngx_http_output_filter(r, &out);
}

// The registry's error status and JSON body.
ngx_int_t ngx_http_registry_cache_send_error(ngx_http_request_t *r, registry_cache::RouteError error) {
    static ngx_str_t json = ngx_string("application/json; charset=utf-8");

    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }
    auto code = registry_cache::error_code_for(error);
    std::string body =
        registry_cache::render_error_body(code, registry_cache::error_detail_for(error));

    r->headers_out.status = registry_cache::describe(code).status;
    if (!ngx_http_registry_cache_add_registry_headers(r)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_registry_cache_send_body(r, json, body.data(), body.size());
}
