// Handing a request to the upstream's location (registry_cache_pass): in mirror mode after its
// turn for the edge's token (upstream_token.cpp).
#include "upstream/upstream.h"
#include "process/request_state.h"
#include "upstream/upstream_token.h"

ngx_int_t ngx_http_registry_cache_hand_over(ngx_http_request_t *r, ngx_str_t &target) noexcept {
    if (target.data[0] == '@') {
        return ngx_http_named_location(r, &target);
    }
    return ngx_http_internal_redirect(r, &target, &r->args);
}

ngx_int_t ngx_http_registry_cache_pass(ngx_http_request_t *r, ngx_str_t &target) noexcept {
    // Subrequests carry what their parent's headers hold: only the main request takes a turn,
    // and only once.
    if (r == r->main) {
        auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
            ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
        ngx_http_registry_cache_request_t *state =
            rlcf->upstream_auth ? ngx_http_registry_cache_find_state(r) : nullptr;
        if (state != nullptr && !state->mirror.handled) {
            return ngx_http_registry_cache_pass_with_token(r, *rlcf, *state, target);
        }
    }
    return ngx_http_registry_cache_hand_over(r, target);
}
