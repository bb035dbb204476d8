// A request that waits for another's outcome (a flight's leader, a token fetch) by polling
// the zone: its connection's write event, delayed, is its timer, as limit_rate uses it.
#pragma once

#include "nginx_headers.h"

// Arms the next poll: the first after 5 ms (another's answer usually lands within a round
// trip), each later one twice as late up to 100 ms, so that many waiting requests do not keep
// taking the zone's lock. `poll_ms` is the request's own (0 before the first poll).
void ngx_http_registry_cache_poll_later(ngx_http_request_t *r, ngx_msec_t &poll_ms) noexcept;
// For the write handler of a polling request: true when the socket, not the timer, woke it,
// and it went back to waiting (or, should that fail, was finalized): the handler returns.
bool ngx_http_registry_cache_woken_early(ngx_http_request_t *r) noexcept;
