#include "registry_cache/policy/stale.h"

namespace registry_cache {

bool outcome_of(int upstream_status, int outgoing_status, UpstreamOutcome& out) noexcept {
    out = UpstreamOutcome{};
    if (upstream_status != 0 && upstream_status == outgoing_status) {
        out.answered = true;
        out.status = upstream_status;
        return true;
    }
    if (outgoing_status == 502 || outgoing_status == 504) {
        out.timed_out = outgoing_status == 504;
        return true;
    }
    return false;
}

bool may_serve_stale(unsigned conditions, const UpstreamOutcome& outcome) noexcept {
    if ((conditions & stale_off) != 0) return false;
    if (!outcome.answered) {
        return (conditions & (outcome.timed_out ? stale_timeout : stale_error)) != 0;
    }
    switch (outcome.status) {
        case 429: return (conditions & stale_http_429) != 0;
        case 500: return (conditions & stale_http_500) != 0;
        case 502: return (conditions & stale_http_502) != 0;
        case 503: return (conditions & stale_http_503) != 0;
        case 504: return (conditions & stale_http_504) != 0;
        default: return false;
    }
}

}  // namespace registry_cache
