// When a cache may answer with what it holds although the upstream did not confirm it
// (registry_cache_use_stale, in the vocabulary of nginx's proxy_cache_use_stale): for the
// failures the operator named, and never for an answer that says the object is gone.
#pragma once

namespace registry_cache {

// Bit 0 is left to nginx's NGX_CONF_BITMASK_SET ("set in this block").
enum StaleCondition : unsigned {
    stale_off = 1u << 1,
    stale_error = 1u << 2,    // no answer: refused, reset, an invalid header
    stale_timeout = 1u << 3,  // no answer in time
    stale_http_429 = 1u << 4,
    stale_http_500 = 1u << 5,
    stale_http_502 = 1u << 6,
    stale_http_503 = 1u << 7,
    stale_http_504 = 1u << 8,
    // No failure: while another request revalidates what is held (a tag past its TTL, a
    // link past link_ttl), the others are answered with it at once instead of waiting for
    // the upstream (nginx's "updating"). may_serve_stale() never reads it.
    stale_updating = 1u << 9,
};

// What became of one upstream exchange.
struct UpstreamOutcome {
    bool answered = false;   // the upstream sent a status line
    int status = 0;          // its status, when it answered
    bool timed_out = false;  // when it did not: because time ran out
};

// What an exchange came to, read from the upstream's status (0: it sent no status line) and
// the status that goes out for it (or that nginx ended it with): the upstream's answer when
// the two agree; no answer when nginx made a 502 or 504 itself, before or after a status line
// (an invalid header, a timeout: a 504 is one); false, nothing to judge, when what goes out
// is neither (an error_page's answer).
bool outcome_of(int upstream_status, int outgoing_status, UpstreamOutcome& out) noexcept;

// Whether `conditions` (a mask of StaleCondition) allow a stale answer after `outcome`. An
// answer outside the named statuses (a 404 above all: deleted upstream) never does.
bool may_serve_stale(unsigned conditions, const UpstreamOutcome& outcome) noexcept;

}  // namespace registry_cache
