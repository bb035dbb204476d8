// $registry_cache_status: HIT, MISS, BYPASS, ERROR, REVALIDATED or STALE, for log_format and
// add_header.
#include "serve/serve.h"
#include "process/request_state.h"

namespace {

ngx_int_t status_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t) noexcept {
    static const ngx_str_t names[] = {ngx_null_string, ngx_string("HIT"), ngx_string("MISS"),
                                      ngx_string("BYPASS"), ngx_string("ERROR"),
                                      ngx_string("REVALIDATED"), ngx_string("STALE")};
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r->main);
    if (state == nullptr || state->lookup.status == ngx_http_registry_cache_status_t::none) {
        v->not_found = 1;
        return NGX_OK;
    }
    const ngx_str_t &name = names[static_cast<int>(state->lookup.status)];
    v->len = name.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = name.data;
    return NGX_OK;
}

ngx_http_variable_t variables[] = {
    {ngx_string("registry_cache_status"), nullptr, status_variable, 0,
     NGX_HTTP_VAR_NOCACHEABLE, 0},
    ngx_http_null_variable};

}  // namespace

ngx_int_t ngx_http_registry_cache_add_variables(ngx_conf_t *cf) noexcept {
    for (ngx_http_variable_t *v = variables; v->name.len; v++) {
        ngx_http_variable_t *var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == nullptr) {
            return NGX_ERROR;
        }
        var->get_handler = v->get_handler;
        var->data = v->data;
    }
    return NGX_OK;
}
