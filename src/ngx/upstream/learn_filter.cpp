// The header filter that listens to the upstream's answers to requests the handler passed
// on: counts their outcome, decides what becomes of the body (verified as it streams, or
// refused before a byte leaves when it could not be verified), and teaches the cache what
// the upstream confirmed.
#include "upstream/upstream.h"
#include "process/upstream_namespace.h"
#include "upstream/upstream_token.h"
#include "auth/basic.h"
#include "process/request_state.h"
#include "process/writer.h"
#include "verify/verify_filter.h"

#include <string>

#include "registry_cache/policy/body_check.h"
#include "registry_cache/policy/confirmation.h"

namespace {

ngx_http_output_header_filter_pt next_header_filter;

// Whether any Content-Encoding the upstream sent changes the bytes ("identity" does not).
bool encoded(const ngx_list_t &headers) noexcept {
    for (const ngx_list_part_t *part = &headers.part; part != nullptr; part = part->next) {
        auto *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (ngx_http_registry_cache_is_named(h[i], "Content-Encoding") &&
                registry_cache::changes_bytes(ngx_http_registry_cache_view(h[i].value))) {
                return true;
            }
        }
    }
    return false;
}

// How a cut of this response would look to the client: HTTP/2 resets the stream, HTTP/1.1
// misses the end of a length or of the chunks; HTTP/1.0 sees a short body only against a
// length (without one, the close ends the body); HTTP/0.9 has neither status nor length.
registry_cache::ClientFraming framing(ngx_http_request_t *r) noexcept {
    using registry_cache::ClientFraming;
#if (NGX_HTTP_V2)
    if (r->stream != nullptr) {
        return ClientFraming::sees_every_cut;
    }
#endif
    if (r->http_version < NGX_HTTP_VERSION_10) {
        return ClientFraming::sees_no_cut;
    }
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    if (r->http_version == NGX_HTTP_VERSION_10 || !clcf->chunked_transfer_encoding) {
        return ClientFraming::sees_cut_with_length;
    }
    return ClientFraming::sees_every_cut;
}

// When the upstream gave no answer at all (refused, reset, timed out), nginx answers 502 or
// 504 with an HTML page; registry clients get OCI error JSON instead, with the same status.
// Returns false when the response cannot be changed.
bool answer_failure_as_oci(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    ngx_uint_t status = r->headers_out.status;
    if (r->upstream->headers_in.status_n != 0 ||
        (status != NGX_HTTP_BAD_GATEWAY && status != NGX_HTTP_GATEWAY_TIME_OUT))
    {
        return true;
    }
    return ngx_http_registry_cache_replace_with_error(
        r, state, status,
        status == NGX_HTTP_GATEWAY_TIME_OUT ? "the upstream registry did not answer in time"
                                            : "the upstream registry could not be reached");
}

// Whether the client told the upstream where it reached it (an upstream may build its
// challenge's realm from that): such a ping's answer is not kept for others.
bool says_where_it_reached(ngx_http_request_t *r) noexcept {
    for (const char *name : {"Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix"}) {
        std::string_view value;
        if (ngx_http_registry_cache_find_header(r->headers_in.headers, name, value) > 0) {
            return true;
        }
    }
    return false;
}

void count_outcome(ngx_http_registry_cache_t *cache, ngx_uint_t status) noexcept {
    auto &sh = *cache->sh;
    switch (status / 100) {
        case 1: ngx_http_registry_cache_count(sh.upstream_1xx); break;
        case 2: ngx_http_registry_cache_count(sh.upstream_2xx); break;
        case 3: ngx_http_registry_cache_count(sh.upstream_3xx); break;
        case 4: ngx_http_registry_cache_count(sh.upstream_4xx); break;
        case 5: ngx_http_registry_cache_count(sh.upstream_5xx); break;
        default: break;
    }
}

// A body named by a digest that the client could receive, complete, without its bytes being
// checked: refused before a byte of it leaves, with a 502 the client can read (HTTP/0.9 has
// no status to carry one: its connection is closed). Nothing is recorded, nor kept by a
// proxy_cache of the location.
ngx_int_t refuse_unverifiable(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                              registry_cache::BodyCheck why) noexcept {
    state.lookup.may_record = false;
    r->upstream->cacheable = 0;
    const ngx_str_t name = ngx_http_registry_cache_str(state.asked.route.name);
    // The reasons are string literals: their views end in a NUL.
    const char *detail = registry_cache::describe(why).data();
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "registry cache: refused the upstream's answer in repository \"%V\": %s", &name, detail);
    if (r->http_version < NGX_HTTP_VERSION_10) {
        return NGX_ERROR;
    }
    return ngx_http_registry_cache_replace_with_error(r, state, NGX_HTTP_BAD_GATEWAY, detail) ? NGX_OK
                                                                                              : NGX_ERROR;
}

// Whether the upstream answered this request's blob GET or HEAD by digest with a redirect
// that was followed (error_page in the upstream's location: its storage, a CDN), and this
// answer is the redirect target's: the blob's, as the registry's own answer would be.
bool redirected_blob(ngx_http_request_t *r, const ngx_http_registry_cache_request_t &state) noexcept {
    return registry_cache::is_recordable_blob(state.asked.route) && ngx_http_registry_cache_after_redirect(r);
}

// What the upstream itself said, from u->headers_in: not what other filters or an
// error_page made of it in r->headers_out. NGX_ERROR when the response must not go on.
ngx_int_t inspect(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    ngx_http_upstream_t *u = r->upstream;
    const ngx_http_upstream_headers_in_t &in = u->headers_in;
    if (in.status_n == 0) {
        return NGX_OK;  // no answer: nginx's own 502/504
    }

    // What the upstream told a client with credentials may be for that client alone: a
    // proxy_cache of the location (keyed by URI, shared by all) must not keep it either.
    if (state.asked.credentialed) {
        u->cacheable = 0;
    }
    // An answer that came by an error_page (the operator's fallback to a mirror, say) is not
    // the upstream's: its body is still verified, but it teaches the cache nothing. But for
    // a blob's, fetched where the upstream itself redirected it.
    const bool redirected = redirected_blob(r, state);
    if (r->error_page && !redirected) {
        state.lookup.may_record = false;
    }
    // Whose answer it is: the upstream's that the request's namespace names, and its Host's
    // when the client's Host went upstream.
    const bool placed = redirected ? ngx_http_registry_cache_place_redirected_answer(r, state)
                                   : ngx_http_registry_cache_place_answer(r, state);
    if (!placed) {
        state.lookup.may_record = false;
    }

    registry_cache::UpstreamAnswer answer;
    answer.path = registry_cache::strip_query(ngx_http_registry_cache_view(u->uri));
    answer.status = static_cast<int>(in.status_n);
    std::string_view digest;
    // A header sent twice is as good as absent: the two values cannot both be the truth.
    if (ngx_http_registry_cache_find_header(in.headers, "Docker-Content-Digest", digest) == 1) {
        answer.docker_content_digest = digest;
    }
    answer.content_length = in.content_length_n;
    if (in.content_type != nullptr) {
        answer.content_type = ngx_http_registry_cache_view(in.content_type->value);
    }
    answer.content_encoded = encoded(in.headers);
    // A Basic credential the upstream accepted here proves this repository for a while.
    if (!r->error_page && placed) {
        ngx_http_registry_cache_basic_answered(r, state, in.status_n);
    }
    // Mirror mode: the upstream refused the edge's own token (revoked, its key rotated): it
    // is forgotten, and the request goes upstream once more with a new one; refused again,
    // this answer goes to the client as it is.
    // Only an answer that came now (never one a proxy_cache kept), and a 401 to the edge's
    // token is never kept by one.
    if (in.status_n == NGX_HTTP_UNAUTHORIZED && state.mirror.token.len != 0) {
        u->cacheable = 0;
    }
    // (A storage's 401, where the registry's redirect was followed, is not about that token,
    // which never went there.)
    if (in.status_n == NGX_HTTP_UNAUTHORIZED && state.mirror.token.len != 0 && u->peer.connection != nullptr &&
        !redirected) {
        bool invalid = false;
        ngx_http_registry_cache_each_header(in.headers, "WWW-Authenticate", [&invalid](std::string_view v) {
            invalid = invalid || v.find("invalid_token") != std::string_view::npos;
        });
        if (invalid) {
            ngx_http_registry_cache_token_refused(r, state);
            if (ngx_http_registry_cache_may_retry(r, state)) {
                return ngx_http_registry_cache_retry_with_new_token(r, state);
            }
        }
    }
    // Two challenges (Basic and Bearer, say) would replay as one: such a ping is not kept.
    // Its headers are read as the client gets them: one the operator hides (proxy_hide_header)
    // must not come back in a replay.
    int challenges = 0;
    if (state.asked.route.kind == registry_cache::RouteKind::base) {
        std::string_view challenge;
        challenges = ngx_http_registry_cache_find_header(r->headers_out.headers, "WWW-Authenticate", challenge);
        answer.www_authenticate = challenge;
        std::string_view version;
        if (ngx_http_registry_cache_find_header(r->headers_out.headers, "Docker-Distribution-Api-Version",
                                                version) == 1) {
            answer.api_version = version;
        }
    }

    // A body that will be hashed teaches at its end, from its bytes, and is hashed even
    // when nothing may be recorded: a wrong body must never reach the client whole.
    if (state.verify.on && (redirected || registry_cache::same_object(state.asked.route, answer.path))) {
        registry_cache::BodyExchange exchange;
        exchange.method = state.asked.method;
        exchange.status = answer.status;
        exchange.outgoing_status = static_cast<int>(r->headers_out.status);
        exchange.client_asked_range = r->headers_in.range != nullptr;
        exchange.encoded = answer.content_encoded;
        exchange.content_length = answer.content_length;
        exchange.docker_content_digest = answer.docker_content_digest;
        exchange.framing = framing(r);
        registry_cache::BodyPlan plan = registry_cache::plan_body(state.asked.route, exchange);
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: upstream %ui: body %s",
                       in.status_n, registry_cache::describe(plan.check).data());
        switch (plan.check) {
            case registry_cache::BodyCheck::pass:
                break;
            case registry_cache::BodyCheck::refuse_encoded:
            case registry_cache::BodyCheck::refuse_unframed:
            case registry_cache::BodyCheck::refuse_reshaped:
                return refuse_unverifiable(r, state, plan.check);
            case registry_cache::BodyCheck::verify:
                switch (ngx_http_registry_cache_start_verify(r, state, answer, plan)) {
                    case ngx_http_registry_cache_verify_start_t::started:
                        return NGX_OK;
                    case ngx_http_registry_cache_verify_start_t::failed:
                        // Out of memory: the body cannot be checked, so none of it leaves.
                        state.lookup.may_record = false;
                        u->cacheable = 0;
                        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                      "registry cache: cannot verify the body (out of memory); refused");
                        return NGX_ERROR;
                }
                break;
        }
    }
    // What teaches must be the upstream's answer as it goes out, not one nginx made of it
    // (an intercepted error page, a status another filter changed).
    if (!state.lookup.may_record || in.status_n != r->headers_out.status) {
        return NGX_OK;
    }
    if (state.asked.route.kind == registry_cache::RouteKind::base) {
        registry_cache::PingRecord ping;
        registry_cache::PingAsked asked;
        asked.credentialed = state.asked.credentialed;
        asked.host = ngx_http_registry_cache_view(r->headers_in.server);
        asked.forwarding = says_where_it_reached(r);
        if (challenges <= 1 && registry_cache::learn_ping(state.asked.route, state.asked.method, asked, answer,
                                                          static_cast<std::uint64_t>(ngx_time()), ping)) {
            ngx_http_registry_cache_teach_ping(r, state, asked.host, std::move(ping));
        }
        return NGX_OK;
    }
    if (state.asked.method == registry_cache::Method::put && state.asked.route.kind == registry_cache::RouteKind::manifest) {
        ngx_http_registry_cache_learn_pushed_manifest(r, state, answer);
    }
    if (state.asked.route.kind == registry_cache::RouteKind::blob_upload) {
        registry_cache::PushedBlob pushed;
        if (registry_cache::learn_push(state.asked.route, state.asked.method, ngx_http_registry_cache_view(r->args),
                                       answer, pushed)) {
            if (!ngx_http_registry_cache_teach_pushed(r, state, pushed)) {
                ngx_http_registry_cache_ask_pushed_size(r, state, pushed);
            }
        }
        return NGX_OK;
    }
    if (registry_cache::is_tag_route(state.asked.route)) {
        registry_cache::TagRecord tag;
        auto lesson = registry_cache::learn_tag(state.asked.route, state.asked.method, answer,
                                                static_cast<std::uint64_t>(ngx_time()), tag);
        ngx_http_registry_cache_teach_tag(r, state, lesson, tag);
        return NGX_OK;
    }
    registry_cache::BlobDescriptor descriptor;
    auto lesson = registry_cache::learn(state.asked.route, state.asked.method, answer,
                                        static_cast<std::uint64_t>(ngx_time()), descriptor);
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: the headers teach %s",
                   lesson == registry_cache::Lesson::record       ? "a record"
                   : lesson == registry_cache::Lesson::clear_link ? "a clear"
                                                                  : "nothing");
    ngx_http_registry_cache_teach(r, state, lesson, descriptor);
    return NGX_OK;
}

ngx_int_t header_filter(ngx_http_request_t *r) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    // Only the answer to a request the handler passed on, once, and only what an
    // upstream said: a response nginx made up itself (an error_page, a `return`) teaches
    // nothing.
    if (state != nullptr && !state->lookup.observed && state->lookup.status != ngx_http_registry_cache_status_t::hit) {
        state->lookup.observed = true;
        if (r->upstream != nullptr) {
            count_outcome(state->cache, r->headers_out.status);
            const ngx_int_t replayed = ngx_http_registry_cache_replay_ping(r, *state);
            if (replayed != NGX_DECLINED) {
                return replayed == NGX_OK ? next_header_filter(r) : NGX_ERROR;
            }
            if (!answer_failure_as_oci(r, *state)) {
                return NGX_ERROR;
            }
            ngx_int_t rc;
            try {
                rc = inspect(r, *state);
            } catch (const std::exception &e) {
                // Nothing verifies this body now: none of it may leave.
                state->lookup.may_record = false;
                r->upstream->cacheable = 0;
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "registry cache: judging the upstream's answer failed: %s", e.what());
                rc = NGX_ERROR;
            }
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }
    return next_header_filter(r);
}

}  // namespace

bool ngx_http_registry_cache_after_redirect(ngx_http_request_t *r) noexcept {
    if (!r->error_page || r->upstream_states == nullptr) {
        return false;
    }
    // The answer before this one (past the mark nginx leaves between two locations'
    // upstreams, a state without a peer) is the upstream's redirect. The last state is this
    // answer's own.
    const auto *states = static_cast<const ngx_http_upstream_state_t *>(r->upstream_states->elts);
    for (ngx_uint_t i = r->upstream_states->nelts; i-- > 1;) {
        const ngx_http_upstream_state_t &before = states[i - 1];
        if (before.peer != nullptr) {
            return registry_cache::is_redirect(static_cast<int>(before.status));
        }
    }
    return false;
}

ngx_int_t ngx_http_registry_cache_filter_init(ngx_conf_t *) noexcept {
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = header_filter;
    return NGX_OK;
}
