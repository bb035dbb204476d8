// A tag past registry_cache_tag_ttl, asked for with GET, is revalidated the way
// distribution's own proxy and Harbor do it: one HEAD of the tag upstream, with the client's
// headers (its Authorization and Accept), in a subrequest through registry_cache_pass. If the
// upstream names the digest the cache holds, the manifest held answers (REVALIDATED) and the
// tag is trusted for another TTL; anything else (another digest, an error, no answer) sends
// the client's own request upstream, as a miss, where its answer teaches the cache. The
// client waits for at most one upstream exchange more than a miss costs.
#include "serve/serve.h"
#include "process/request_state.h"
#include "process/writer.h"
#include "upstream/upstream.h"

#include "registry_cache/learn.h"
#include "registry_cache/policy/stale.h"

struct ngx_http_registry_cache_revalidation_t {
    ngx_str_t digest;      // what the held tag names
    ngx_str_t media_type;  // the held manifest's
    ngx_str_t body;
    ngx_str_t pass;        // where the request goes if the tag cannot be trusted
    ngx_uint_t use_stale;  // and when the held one answers instead (policy/stale.h)
    // The HEAD's outcome, from its subrequest (views into the request's pool).
    ngx_uint_t status;     // the upstream's status; 0: no answer
    bool timed_out;        // no answer, for want of time
    ngx_str_t answered_digest;
    ngx_str_t answered_type;
};

namespace {

// Runs as the subrequest ends: what the upstream said is kept for the main request, whose
// write handler nginx runs next.
ngx_int_t head_done(ngx_http_request_t *sr, void *data, ngx_int_t rc) noexcept {
    auto *rv = static_cast<ngx_http_registry_cache_revalidation_t *>(data);
    ngx_http_upstream_t *u = sr->upstream;
    // How nginx ended the subrequest: its own status for an exchange that broke (after the
    // status line too: an invalid header, a timeout), else what went out (policy/stale.h).
    const int ended = rc >= NGX_HTTP_SPECIAL_RESPONSE ? static_cast<int>(rc)
                      : rc == NGX_ERROR               ? NGX_HTTP_BAD_GATEWAY
                                                      : static_cast<int>(sr->headers_out.status);
    registry_cache::UpstreamOutcome outcome;
    const bool judged = registry_cache::outcome_of(u != nullptr ? static_cast<int>(u->headers_in.status_n) : 0,
                                                   ended, outcome);
    if (judged && outcome.answered) {
        rv->status = u->headers_in.status_n;
        std::string_view value;
        if (ngx_http_registry_cache_find_header(u->headers_in.headers, "Docker-Content-Digest", value) == 1) {
            rv->answered_digest = ngx_http_registry_cache_str(value);
        }
        if (u->headers_in.content_type != nullptr) {
            rv->answered_type = u->headers_in.content_type->value;
        }
    } else {
        rv->timed_out = judged && outcome.timed_out;
    }
    return rc;
}

void after_head(ngx_http_request_t *r) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr || state->revalidation == nullptr) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    ngx_http_registry_cache_revalidation_t &rv = *state->revalidation;
    state->revalidation = nullptr;
    r->write_event_handler = ngx_http_request_empty_handler;
    auto &sh = *state->cache->sh;
    const std::string_view held = ngx_http_registry_cache_view(rv.digest);
    const bool same = rv.status == NGX_HTTP_OK && ngx_http_registry_cache_view(rv.answered_digest) == held;
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "registry cache: tag revalidation: upstream %ui, %s", rv.status,
                   same ? "the digest held" : "not the digest held");
    if (same) {
        // Trusted for another TTL, as the upstream's answer to a HEAD teaches.
        registry_cache::UpstreamAnswer answer;
        answer.path = registry_cache::strip_query(ngx_http_registry_cache_view(r->unparsed_uri));
        answer.status = static_cast<int>(rv.status);
        answer.docker_content_digest = held;
        answer.content_type = ngx_http_registry_cache_view(rv.answered_type);
        registry_cache::TagRecord tag;
        auto lesson = registry_cache::learn_tag(state->asked.route, registry_cache::Method::head, answer,
                                                static_cast<std::uint64_t>(ngx_time()), tag);
        ngx_http_registry_cache_teach_tag(r, *state, lesson, tag);
        state->lookup.status = ngx_http_registry_cache_status_t::revalidated;
        ngx_http_registry_cache_count(sh.tag_revalidated);
        ngx_http_finalize_request(r, ngx_http_registry_cache_send_manifest(
                                         r, held, ngx_http_registry_cache_view(rv.media_type),
                                         ngx_http_registry_cache_view(rv.body), false));
        return;
    }
    registry_cache::UpstreamOutcome outcome;
    outcome.answered = rv.status != 0;
    outcome.status = static_cast<int>(rv.status);
    outcome.timed_out = rv.timed_out;
    if (registry_cache::may_serve_stale(static_cast<unsigned>(rv.use_stale), outcome)) {
        // The upstream failed as the operator allowed: what is held answers, unconfirmed.
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: the upstream did not confirm the tag (%ui): answered stale", rv.status);
        state->lookup.status = ngx_http_registry_cache_status_t::stale;
        ngx_http_registry_cache_count(sh.stale);
        ngx_http_finalize_request(r, ngx_http_registry_cache_send_manifest(
                                         r, held, ngx_http_registry_cache_view(rv.media_type),
                                         ngx_http_registry_cache_view(rv.body), false));
        return;
    }
    state->lookup.status = ngx_http_registry_cache_status_t::miss;
    ngx_http_registry_cache_count(sh.tag_misses);
    ngx_http_finalize_request(r, ngx_http_registry_cache_pass(r, rv.pass));
}

}  // namespace

ngx_int_t ngx_http_registry_cache_revalidate_tag(ngx_http_request_t *r,
                                                 ngx_http_registry_cache_loc_conf_t *rlcf,
                                                 ngx_http_registry_cache_request_t &judged,
                                                 const registry_cache::TaggedLookup &found) {
    static ngx_str_t head = ngx_string("HEAD");
    auto *rv = static_cast<ngx_http_registry_cache_revalidation_t *>(
        ngx_pcalloc(r->pool, sizeof(ngx_http_registry_cache_revalidation_t)));
    auto *ps = static_cast<ngx_http_post_subrequest_t *>(ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    if (rv == nullptr || ps == nullptr ||
        !ngx_http_registry_cache_pool_copy(r->pool, found.tag.digest.view(), rv->digest) ||
        !ngx_http_registry_cache_pool_copy(r->pool, found.manifest.descriptor.media_type.view(), rv->media_type) ||
        !ngx_http_registry_cache_pool_copy(r->pool, found.manifest.body, rv->body))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    rv->pass = rlcf->pass;
    rv->use_stale = rlcf->use_stale;
    // The main request may go upstream after all: its state must outlive a redirect.
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_attach_state(r, judged, true);
    if (state == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    state->revalidation = rv;
    ps->handler = head_done;
    ps->data = rv;

    // Through this location again, as the client's request would go: the handler passes a
    // subrequest on untouched, and it learns nothing (only the main request holds state).
    ngx_http_request_t *sr;
    if (ngx_http_subrequest(r, &r->uri, &r->args, &sr, ps, NGX_HTTP_SUBREQUEST_IN_MEMORY) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    sr->method = NGX_HTTP_HEAD;
    sr->method_name = head;
    sr->header_only = 1;
    // A HEAD declares no body, whatever the client's request did (the handler sends those
    // upstream as they are; this holds should one come here).
    sr->headers_in.content_length = nullptr;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.chunked = 0;
    sr->headers_in.transfer_encoding = nullptr;
    r->write_event_handler = after_head;
    // A reference of the handler's own, given back when after_head finalizes the request:
    // the subrequest takes and gives back its own.
    r->main->count++;
    return NGX_DONE;
}
