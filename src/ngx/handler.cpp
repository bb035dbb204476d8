// The content-phase handler: parse the route, refuse what is invalid, pass on the rest.
#include "ngx_registry_cache.h"

#include <string>
#include <string_view>

#include "registry_cache/oci_error.h"
#include "registry_cache/route.h"

namespace {

using registry_cache::RouteError;

std::string_view view(const ngx_str_t &s) noexcept {
    return {reinterpret_cast<const char *>(s.data), s.len};
}

// The path as the client sent it, which is what proxy_pass forwards too (without a URI
// part it sends the unparsed URI). Once nginx itself rewrote the URI, the upstream gets
// the rewritten one, so that is what must be judged.
std::string_view request_path(const ngx_http_request_t *r) noexcept {
    if (r->valid_unparsed_uri) {
        return registry_cache::strip_query(view(r->unparsed_uri));
    }
    return view(r->uri);
}

bool add_header(ngx_http_request_t *r, const ngx_str_t &key, const ngx_str_t &value) noexcept {
    auto *h = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
    if (h == nullptr) {
        return false;
    }
    h->hash = 1;
    h->key = key;
    h->value = value;
#if (nginx_version >= 1023000)
    h->next = nullptr;
#endif
    return true;
}

// Answers the request with the registry's error status and JSON body.
ngx_int_t send_oci_error(ngx_http_request_t *r, RouteError error) {
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    auto code = registry_cache::error_code_for(error);
    std::string body = registry_cache::render_error_body(code, registry_cache::error_detail_for(error));

    static ngx_str_t api_version_key = ngx_string("Docker-Distribution-Api-Version");
    static ngx_str_t api_version = ngx_string("registry/2.0");
    static ngx_str_t nosniff_key = ngx_string("X-Content-Type-Options");
    static ngx_str_t nosniff = ngx_string("nosniff");
    static ngx_str_t json = ngx_string("application/json; charset=utf-8");

    r->headers_out.status = registry_cache::describe(code).status;
    r->headers_out.content_length_n = static_cast<off_t>(body.size());
    r->headers_out.content_type = json;
    r->headers_out.content_type_len = json.len;
    r->headers_out.content_type_lowcase = nullptr;
    // The headers distribution sends with every error.
    if (!add_header(r, api_version_key, api_version) || !add_header(r, nosniff_key, nosniff)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    ngx_buf_t *b = ngx_create_temp_buf(r->pool, body.size());
    if (b == nullptr) {
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->last, body.data(), body.size());
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_chain_t out{b, nullptr};
    return ngx_http_output_filter(r, &out);
}

// Hands the request, untouched (method, headers, body not yet read), to where the
// operator's proxy_pass lives; the upstream's answer streams back through it.
ngx_int_t pass(ngx_http_request_t *r, ngx_str_t &target) noexcept {
    if (target.data[0] == '@') {
        return ngx_http_named_location(r, &target);
    }
    return ngx_http_internal_redirect(r, &target, &r->args);
}

ngx_int_t handle(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf) {
    std::string_view path = request_path(r);
    auto *cache = static_cast<ngx_http_registry_cache_t *>(rlcf->shm_zone->data);
    ngx_http_registry_cache_count(cache->sh->requests);

    registry_cache::Route route = registry_cache::parse_route(path);
    if (route.error != RouteError::none) {
        ngx_http_registry_cache_count(cache->sh->refused);
        // The request line is in the log context already; the message says what was wrong.
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "registry cache: %s",
                      route.error == RouteError::name_invalid ? "invalid repository name"
                                                              : "invalid digest");
        return send_oci_error(r, route.error);
    }

    ngx_http_registry_cache_count(cache->sh->passed);
    return pass(r, rlcf->pass);
}

}  // namespace

ngx_int_t ngx_http_registry_cache_handler(ngx_http_request_t *r) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    if (rlcf->shm_zone == nullptr) {
        return NGX_DECLINED;
    }
    // The cache passes requests to named locations; it never handles one itself, which
    // would loop when that location inherits `registry_cache` and has no content handler.
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    if (clcf->named) {
        return NGX_DECLINED;
    }
    try {
        return handle(r, rlcf);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: %s", e.what());
    } catch (...) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: unknown exception");
    }
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
