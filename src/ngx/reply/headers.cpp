#include "reply/headers.h"

namespace {

ngx_str_t api_version_key = ngx_string("Docker-Distribution-Api-Version");
ngx_str_t api_version = ngx_string("registry/2.0");
ngx_str_t nosniff_key = ngx_string("X-Content-Type-Options");
ngx_str_t nosniff = ngx_string("nosniff");

}  // namespace

bool ngx_http_registry_cache_add_header(ngx_http_request_t *r, const ngx_str_t &key, const ngx_str_t &value) noexcept {
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

bool ngx_http_registry_cache_add_registry_headers(ngx_http_request_t *r) noexcept {
    return ngx_http_registry_cache_add_header(r, api_version_key, api_version) &&
           ngx_http_registry_cache_add_header(r, nosniff_key, nosniff);
}
