// The verifying body filter, as the rest of the glue sees it: started by the header filter for
// a body that registry_cache::plan_body() said to verify.
#pragma once

#include "state/request.h"

#include "registry_cache/learn.h"
#include "registry_cache/policy/body_check.h"

ngx_int_t ngx_http_registry_cache_verify_filter_init(ngx_conf_t *cf) noexcept;

enum class ngx_http_registry_cache_verify_start_t {
    started,     // it will be verified: what it teaches is learned at its end
    failed       // it must be, and cannot be (out of memory): none of it may leave
};
ngx_http_registry_cache_verify_start_t ngx_http_registry_cache_start_verify(
    ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
    const registry_cache::UpstreamAnswer &answer, const registry_cache::BodyPlan &plan) noexcept;
