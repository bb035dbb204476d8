// What the cache holds past its time is revalidated the way distribution's own proxy and
// Harbor revalidate a tag: one HEAD upstream, with the client's headers (its Authorization and
// Accept; none of its conditions or ranges, which would make the answer about something else),
// in a subrequest through registry_cache_pass. A tag past registry_cache_tag_ttl, and a link
// (a manifest or a blob body by digest) past registry_cache_link_ttl: if the upstream names
// the digest held, what is held answers (REVALIDATED) and its time is renewed; if it fails in
// a way registry_cache_use_stale names, what is held answers (STALE); anything else (another
// digest, a 404, an error) sends the client's own request upstream, as a miss, where its
// answer teaches the cache, and a link an anonymous HEAD found gone (404) is forgotten. The
// client waits for at most one upstream exchange more than a miss costs.
#include "serve/serve.h"
#include "process/request_state.h"
#include "process/writer.h"
#include "upstream/upstream.h"

#include "registry_cache/learn.h"
#include "registry_cache/policy/confirmation.h"
#include "registry_cache/policy/stale.h"

struct ngx_http_registry_cache_revalidation_t {
    bool tag;              // a tag's record; else a link, which the handler reads again
    ngx_str_t digest;      // what the held tag names, or the link is of
    ngx_str_t media_type;  // the manifest the held tag names: its type and body
    ngx_str_t body;
    ngx_str_t pass;        // where the request goes if the tag cannot be trusted
    ngx_uint_t use_stale;  // and when the held one answers instead (policy/stale.h)
    // The HEAD's outcome, from its subrequest (views into the request's pool).
    ngx_uint_t status;     // the upstream's status; 0: no answer
    bool timed_out;        // no answer, for want of time
    ngx_str_t answered_digest;
    ngx_str_t answered_type;
    off_t answered_length;  // its Content-Length; -1: none
    bool after_redirect;    // it came where an upstream's redirect was followed
    off_t held_size;        // a link's: the size it records; -1: not known
};

namespace {

// The client's request headers for the HEAD alone, but for its conditions and ranges: a 304
// or a 206 would not say which digest the upstream holds now. A list of the HEAD's own (the
// subrequest shares the client's, which go upstream as they are should the client's request).
bool unconditional_headers(ngx_http_request_t *sr) noexcept {
    static constexpr std::string_view dropped[] = {"If-None-Match", "If-Modified-Since", "If-Match",
                                                   "If-Unmodified-Since", "If-Range", "Range"};
    // The client's list, read through a copy of its head (its parts stay the client's); the
    // HEAD's own is made in place, so that its `last` points into the request, not here.
    const ngx_list_t client = sr->headers_in.headers;
    if (ngx_list_init(&sr->headers_in.headers, sr->pool, 8, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return false;
    }
    for (const ngx_list_part_t *part = &client.part; part != nullptr; part = part->next) {
        const auto *h = static_cast<const ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            bool drop = false;
            for (std::string_view name : dropped) drop = drop || ngx_http_registry_cache_is_named(h[i], name);
            if (drop) continue;
            auto *kept = static_cast<ngx_table_elt_t *>(ngx_list_push(&sr->headers_in.headers));
            if (kept == nullptr) {
                return false;
            }
            *kept = h[i];
        }
    }
    sr->headers_in.if_none_match = nullptr;
    sr->headers_in.if_modified_since = nullptr;
    sr->headers_in.if_match = nullptr;
    sr->headers_in.if_unmodified_since = nullptr;
    sr->headers_in.if_range = nullptr;
    sr->headers_in.range = nullptr;
    return true;
}

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
        rv->answered_length = u->headers_in.content_length_n;
        rv->after_redirect = ngx_http_registry_cache_after_redirect(sr);
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

// The tag held names what the upstream named: its time renewed (and the link of the
// manifest it names), the manifest held sent.
ngx_int_t answer_tag(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                     const ngx_http_registry_cache_revalidation_t &rv) {
    const std::string_view held = ngx_http_registry_cache_view(rv.digest);
    if (state.lookup.status == ngx_http_registry_cache_status_t::revalidated) {
        registry_cache::UpstreamAnswer answer;
        answer.path = registry_cache::strip_query(ngx_http_registry_cache_view(r->unparsed_uri));
        answer.status = static_cast<int>(rv.status);
        answer.docker_content_digest = held;
        answer.content_type = ngx_http_registry_cache_view(rv.answered_type);
        answer.content_length = static_cast<std::int64_t>(rv.body.len);  // what the HEAD confirmed
        registry_cache::TagRecord tag;
        auto lesson = registry_cache::learn_tag(state.asked.route, registry_cache::Method::head, answer,
                                                static_cast<std::uint64_t>(ngx_time()), tag);
        ngx_http_registry_cache_teach_tag(r, state, lesson, tag);
        // The link of the manifest it names, where links age (a write, and its body hashed
        // again at commit, that a store whose links never age is spared).
        registry_cache::BlobDescriptor manifest;
        if (lesson == registry_cache::Lesson::record && state.lookup.link_ttl > 0 &&
            manifest.media_type.assign(ngx_http_registry_cache_view(rv.media_type))) {
            manifest.size = rv.body.len;
            manifest.stored_at = static_cast<std::uint64_t>(ngx_time());
            ngx_http_registry_cache_teach_manifest(r, state, held, manifest, ngx_http_registry_cache_view(rv.body));
        }
    }
    return ngx_http_registry_cache_send_manifest(r, held, ngx_http_registry_cache_view(rv.media_type),
                                                 ngx_http_registry_cache_view(rv.body), false);
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
    const bool blob = !rv.tag && state->asked.route.kind == registry_cache::RouteKind::blob;
    registry_cache::HeadAnswer answered;
    answered.status = static_cast<int>(rv.status);
    answered.digest = ngx_http_registry_cache_view(rv.answered_digest);
    answered.content_length = static_cast<long long>(rv.answered_length);
    answered.after_redirect = rv.after_redirect;
    const bool same = registry_cache::confirms_held(blob, answered, held, static_cast<long long>(rv.held_size));
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "registry cache: %s revalidation: upstream %ui, %s", rv.tag ? "tag" : "link", rv.status,
                   same ? "the digest held" : "not the digest held");
    // A renewal lands a revalidation's flight as recorded (when it commits). So does a tag
    // that moved: the request asks upstream for it by the tag, and its answer (a GET's
    // manifest, a HEAD's record of the tag) answers its followers rather than each ask (a
    // registry counts manifest GETs against pull limits). Otherwise they ask for themselves
    // now, rather than wait on what this request does next (a blob's body, a failure).
    const bool moved_tag = rv.tag && rv.status == NGX_HTTP_OK && !answered.digest.empty();
    if (!same && !moved_tag) ngx_http_registry_cache_abandon_flight(*state);
    registry_cache::UpstreamOutcome outcome;
    outcome.answered = rv.status != 0;
    outcome.status = static_cast<int>(rv.status);
    outcome.timed_out = rv.timed_out;
    ngx_int_t rc;
    try {
        if (same || registry_cache::may_serve_stale(static_cast<unsigned>(rv.use_stale), outcome)) {
            if (same) {
                state->lookup.status = ngx_http_registry_cache_status_t::revalidated;
            } else {
                // The upstream failed as the operator allowed: what is held answers, unconfirmed.
                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "registry cache: the upstream did not confirm the %s (%ui): answered stale",
                              rv.tag ? "tag" : "link", rv.status);
                state->lookup.status = ngx_http_registry_cache_status_t::stale;
            }
            const bool manifest = state->asked.route.kind == registry_cache::RouteKind::manifest;
            const bool head = state->asked.method == registry_cache::Method::head;
            ngx_http_registry_cache_count(!same     ? sh.stale
                                          : rv.tag   ? sh.tag_revalidated
                                          : manifest ? sh.manifest_revalidated
                                          : head     ? sh.blob_revalidated
                                                     : sh.body_revalidated);
            rc = rv.tag ? answer_tag(r, *state, rv) : ngx_http_registry_cache_answer_held(r, *state);
        } else if (rv.tag) {
            state->lookup.status = ngx_http_registry_cache_status_t::miss;
            ngx_http_registry_cache_count(sh.tag_misses);
            rc = ngx_http_registry_cache_pass(r, rv.pass);
        } else {
            // Gone for anyone (a credentialed client's 404 may be for it alone): forgotten.
            if (rv.status == NGX_HTTP_NOT_FOUND && !state->asked.credentialed) {
                ngx_http_registry_cache_teach(r, *state, registry_cache::Lesson::clear_link, {});
            }
            rc = ngx_http_registry_cache_held_miss(r, *state);
        }
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: %s", e.what());
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_finalize_request(r, rc);
}

// The HEAD, through this location again as the client's request would go: the handler
// passes a subrequest on untouched, and it learns nothing (only the main request holds
// state). Its headers are the client's, but for those that would make the answer about
// something other than the object (a condition, a range: a 304 or a 206 confirms nothing).
ngx_int_t ask_head(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                   ngx_http_registry_cache_request_t &judged, ngx_http_registry_cache_revalidation_t *rv) {
    static ngx_str_t head = ngx_string("HEAD");
    auto *ps = static_cast<ngx_http_post_subrequest_t *>(ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    if (ps == nullptr) {
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
    rv->answered_length = -1;
    ps->handler = head_done;
    ps->data = rv;

    ngx_http_request_t *sr;
    if (ngx_http_subrequest(r, &r->uri, &r->args, &sr, ps, NGX_HTTP_SUBREQUEST_IN_MEMORY) != NGX_OK ||
        !unconditional_headers(sr)) {
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

}  // namespace

ngx_int_t ngx_http_registry_cache_revalidate_tag(ngx_http_request_t *r,
                                                 ngx_http_registry_cache_loc_conf_t *rlcf,
                                                 ngx_http_registry_cache_request_t &judged,
                                                 const registry_cache::TaggedLookup &found) {
    auto *rv = static_cast<ngx_http_registry_cache_revalidation_t *>(
        ngx_pcalloc(r->pool, sizeof(ngx_http_registry_cache_revalidation_t)));
    if (rv == nullptr ||
        !ngx_http_registry_cache_pool_copy(r->pool, found.tag.digest.view(), rv->digest) ||
        !ngx_http_registry_cache_pool_copy(r->pool, found.manifest.descriptor.media_type.view(), rv->media_type) ||
        !ngx_http_registry_cache_pool_copy(r->pool, found.manifest.body.view(), rv->body))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    rv->tag = true;
    rv->held_size = -1;
    return ask_head(r, rlcf, judged, rv);
}

ngx_int_t ngx_http_registry_cache_revalidate_link(ngx_http_request_t *r,
                                                  ngx_http_registry_cache_loc_conf_t *rlcf,
                                                  ngx_http_registry_cache_request_t &judged,
                                                  std::uint64_t held_size) {
    auto *rv = static_cast<ngx_http_registry_cache_revalidation_t *>(
        ngx_pcalloc(r->pool, sizeof(ngx_http_registry_cache_revalidation_t)));
    if (rv == nullptr ||
        !ngx_http_registry_cache_pool_copy(r->pool, registry_cache::digest_text(judged.asked.route), rv->digest))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    rv->held_size = held_size > static_cast<std::uint64_t>(NGX_MAX_OFF_T_VALUE) ? -1 : static_cast<off_t>(held_size);
    return ask_head(r, rlcf, judged, rv);
}
