// Polling a shared outcome (process/poll.h).
#include "process/poll.h"

void ngx_http_registry_cache_poll_later(ngx_http_request_t *r, ngx_msec_t &poll_ms) noexcept {
    constexpr ngx_msec_t first_poll_ms = 5, last_poll_ms = 100;
    poll_ms = poll_ms == 0 ? first_poll_ms : ngx_min(2 * poll_ms, last_poll_ms);
    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, poll_ms);
}

bool ngx_http_registry_cache_woken_early(ngx_http_request_t *r) noexcept {
    ngx_event_t *wev = r->connection->write;
    if (!wev->delayed) return false;
    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        wev->delayed = 0;
        if (wev->timer_set) {
            ngx_del_timer(wev);
        }
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
    return true;
}
