// The content-phase handler: parse the route, refuse what is invalid, answer a cached HEAD
// of a blob, and pass everything else on to where the operator's proxy_pass lives.
#include "serve/serve.h"
#include "auth/basic.h"
#include "auth/bearer.h"
#include "serve/lookup.h"
#include "process/upstream_namespace.h"
#include "process/flight.h"
#include "process/flight_wait.h"
#include "process/process.h"
#include "process/request_state.h"
#include "process/writer.h"
#include "reply/headers.h"
#include "state/request.h"
#include "upstream/upstream.h"
#include "upstream/upstream_token.h"
#include "verify/verify_filter.h"

#include <string>
#include <string_view>

#include "registry_cache/policy/manifest_answer.h"
#include "registry_cache/policy/link_age.h"
#include "registry_cache/policy/stale.h"

namespace {

using registry_cache::LookupStatus;
using registry_cache::Method;
using registry_cache::Route;
using registry_cache::RouteError;
using registry_cache::RouteKind;
using status_t = ngx_http_registry_cache_status_t;

// The path as the client sent it, which is what proxy_pass forwards too (without a URI
// part it sends the unparsed URI). Once nginx itself rewrote the URI, the upstream gets
// the rewritten one, so that is what must be judged.
std::string_view request_path(const ngx_http_request_t *r) noexcept {
    if (r->valid_unparsed_uri) {
        return registry_cache::strip_query(ngx_http_registry_cache_view(r->unparsed_uri));
    }
    return ngx_http_registry_cache_view(r->uri);
}

Method method_of(const ngx_http_request_t *r) noexcept {
    switch (r->method) {
        case NGX_HTTP_HEAD: return Method::head;
        case NGX_HTTP_GET: return Method::get;
        case NGX_HTTP_DELETE: return Method::del;
        case NGX_HTTP_PUT: return Method::put;
        case NGX_HTTP_POST: return Method::post;
        default: return Method::other;
    }
}

// `/v2/` in mirror mode: 200 `{}` with the registry's headers, as distribution answers an
// authenticated client.
ngx_int_t answer_ping(ngx_http_request_t *r) noexcept {
    static ngx_str_t json = ngx_string("application/json; charset=utf-8");
    const ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }
    r->headers_out.status = NGX_HTTP_OK;
    if (!ngx_http_registry_cache_add_registry_headers(r)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_registry_cache_send_body(r, json, "{}", 2);
}

// A HEAD of a blob.
status_t read_store(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                    registry_cache::LookupResult &found) {
    return ngx_http_registry_cache_read_with(r, state, found, &registry_cache::Store::lookup);
}

// A blob's link in the repository and whether its body is on the store's disk.
status_t read_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                   registry_cache::BodyLookup &found) {
    return ngx_http_registry_cache_read_with(r, state, found, &registry_cache::Store::lookup_blob_body);
}

// A manifest by digest, with its body.
status_t read_manifest(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                       registry_cache::ManifestLookup &found) {
    return ngx_http_registry_cache_read_with(r, state, found, &registry_cache::Store::lookup_manifest);
}

// Hands the request, untouched (method, headers, body not yet read), to the location that
// holds the proxy_pass; the upstream's answer streams back through it.
ngx_int_t pass(ngx_http_request_t *r, ngx_str_t &target) noexcept {
    return ngx_http_registry_cache_pass(r, target);
}

ngx_int_t answer_hit(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                     const registry_cache::LookupResult &found) {
    ngx_http_registry_cache_count(state.cache->sh->hits);
    state.lookup.status = status_t::hit;
    return ngx_http_registry_cache_send_hit(r, state.asked.route, found.descriptor);
}

ngx_int_t pass_miss(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    ngx_http_registry_cache_count(state.asked.method == Method::get ? state.cache->sh->body_misses
                                                                    : state.cache->sh->misses);
    state.lookup.status = status_t::miss;
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    return pass(r, rlcf->pass);
}

// What a miss's flight is for: a GET's is the body's, a HEAD's the descriptor's.
ngx_http_registry_cache_flight_kind_t miss_flight_kind(const ngx_http_registry_cache_request_t &state) noexcept {
    return state.asked.method == Method::get ? ngx_http_registry_cache_flight_kind_t::body
                                             : ngx_http_registry_cache_flight_kind_t::descriptor;
}

ngx_int_t lead_or_follow(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state);

// A follower's turn: the leader's outcome decides between a hit and the upstream; a leader
// whose client left is replaced by the first follower to wake, and followed by the rest.
void follow(ngx_http_request_t *r) {
    registry_cache::FlightState flight;
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_flight_over(r, flight);
    if (state == nullptr) return;
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: follower wakes: %s",
                   flight == registry_cache::FlightState::recorded    ? "recorded, looking up"
                   : flight == registry_cache::FlightState::abandoned ? "the leader's client left, leading or following anew"
                                                                      : "nothing recorded or timed out, going upstream");
    if (flight == registry_cache::FlightState::abandoned) {
        ngx_http_finalize_request(r, lead_or_follow(r, *state));
        return;
    }
    if (flight == registry_cache::FlightState::recorded && state->asked.method == Method::get) {
        registry_cache::BodyLookup found;
        if (read_body(r, *state, found) == status_t::hit) {
            const ngx_int_t rc = ngx_http_registry_cache_answer_body(r, *state, found);
            if (rc != NGX_DECLINED) {
                ngx_http_finalize_request(r, rc);
                return;
            }
        }
    } else if (flight == registry_cache::FlightState::recorded) {
        registry_cache::LookupResult found;
        if (read_store(r, *state, found) == status_t::hit) {
            ngx_http_finalize_request(r, answer_hit(r, *state, found));
            return;
        }
    }
    ngx_http_finalize_request(r, pass_miss(r, *state));
}

// A HEAD the store did not answer, or a GET of a blob whose body it does not hold: lead the
// flight for it, or follow the request that leads it (a GET's flight is the body's: its
// followers are answered from the file once the leader's body is kept); a store error, a
// request with credentials (which can only learn a credentialed link, of no use to
// followers) or one that declares a body just goes upstream.
ngx_int_t miss(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
               ngx_http_registry_cache_request_t &judged) {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_attach_state(r, judged, true);
    if (state == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    // A revalidation it led and did not land (what it renewed was not written, the file was
    // gone): its followers go their own way now; this flight is another.
    ngx_http_registry_cache_abandon_flight(*state);
    if (state->lookup.status == status_t::error) {
        return pass(r, rlcf->pass);
    }
    if (state->asked.credentialed || ngx_http_registry_cache_declares_body(r)) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "registry cache: miss with credentials or a body: joins no flight");
        return pass_miss(r, *state);
    }
    const std::string_view digest = registry_cache::digest_text(state->asked.route);
    state->flight.key = state->asked.method == Method::get
                            ? registry_cache::flight_key(state->asked.store_name, "body " + std::string(digest))
                            : registry_cache::flight_key(state->asked.store_name, digest);
    return lead_or_follow(r, *state);
}

// Leads the miss's flight (state.flight.key), or waits for the request that leads it.
ngx_int_t lead_or_follow(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    const auto kind = miss_flight_kind(state);
    const registry_cache::Claimed claimed = ngx_http_registry_cache_claim_flight(state.cache, state.flight.key, kind);
    switch (claimed.role) {
        case registry_cache::Claim::leader:
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: leads the flight");
            state.flight.lead = claimed.lead;
            state.flight.client = r->connection;
            return pass_miss(r, state);
        case registry_cache::Claim::full:
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "registry cache: flight table full: goes upstream alone");
            ngx_http_registry_cache_count(state.cache->sh->flights_full);
            return pass_miss(r, state);
        case registry_cache::Claim::follower:
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: follows the flight");
            break;
    }
    ngx_http_registry_cache_wait_for_flight(r, state, kind, ngx_http_registry_cache_safely<follow>);
    return NGX_DONE;
}

// What the client's Accept headers name, and whether an If-None-Match names `digest`, read
// as distribution reads them (policy/manifest_answer.h).
registry_cache::ManifestAccept accept_of(ngx_http_request_t *r) noexcept {
    registry_cache::ManifestAccept accept;
    ngx_http_registry_cache_each_header(r->headers_in.headers, "Accept",
                                        [&accept](std::string_view v) { registry_cache::add_accept(v, accept); });
    return accept;
}

// (nginx refuses a request with two If-None-Match lines: the one it kept is all there is.)
bool if_none_match_names(ngx_http_request_t *r, std::string_view digest) noexcept {
    const ngx_table_elt_t *h = r->headers_in.if_none_match;
    return h != nullptr && registry_cache::if_none_match_names(ngx_http_registry_cache_view(h->value), digest);
}

// Whether one HEAD upstream may decide about what is held past its TTL (revalidate.cpp). A
// request that declares a body never may: the subrequest would carry its Content-Length
// without its body, and an upstream connection kept alive would take the next request's
// bytes for it (request smuggling); it goes upstream as it is. In mirror mode the HEAD
// carries the edge's token, which must be at hand: a request that finds none goes upstream
// whole and fetches it there. Who asks is judged here, for what the HEAD teaches.
bool may_ask_head(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                  ngx_http_registry_cache_request_t &judged) {
    if (ngx_http_registry_cache_declares_body(r)) return false;
    judged.asked.credentialed = ngx_http_registry_cache_carries_credentials(r);
    return !rlcf->upstream_auth || ngx_http_registry_cache_token_at_hand(r, *rlcf, judged);
}

// Why the handler judges a request: it came; it waited for another's revalidation or manifest
// fetch, which is over (it joins none again); or that flight's leader left before the upstream
// answered (it may lead the next one, or wait for it, until its first wait's end).
enum class arrival_t { came, waited, rejoins };

ngx_int_t handle(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf, arrival_t arrival,
                 ngx_msec_t wait_until = 0);

// A request that waited for another's revalidation or manifest fetch: once it has landed (or
// the wait is over), the request is judged again from the start, as if it had just come: what
// the leader renewed or recorded answers it, and anything else sends it on its own way (never
// to wait again), but for a leader whose client left: the first to wake leads again, the rest
// follow.
void judge_again(ngx_http_request_t *r) {
    registry_cache::FlightState flight;
    const ngx_http_registry_cache_request_t *waited = ngx_http_registry_cache_flight_over(r, flight);
    if (waited == nullptr) return;
    const arrival_t arrival = flight == registry_cache::FlightState::abandoned ? arrival_t::rejoins : arrival_t::waited;
    // One that rejoins waits no longer than it was to wait at first (leaders that leave, one
    // after another, do not keep it waiting).
    const ngx_msec_t wait_until = arrival == arrival_t::rejoins ? waited->flight.wait_until : 0;
    // The waiting state is r->ctx's alone (no redirect came between): without it, the
    // handler takes the request as new.
    ngx_http_set_ctx(r, nullptr, ngx_http_registry_cache_module);
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    ngx_http_finalize_request(r, handle(r, rlcf, arrival, wait_until));
}

// One question upstream for all the anonymous requests that want its answer at once (a
// fleet's pulls of one image, say): the first leads, and what it records lands the flight;
// the others wait for it, then are judged again (judge_again). A request with credentials
// asks for its client alone, as does one that waited already. Where something is held
// (`may_answer_stale`) and registry_cache_use_stale names "updating", the others are answered
// at once with it instead of waiting (stale_now). `what` names the question: "revalidate tag <tag>", "revalidate
// <digest>" (a link), "manifest <reference>" (a fetch). `rc` is the handler's when the
// request waits, or failed.
enum class joined_t { ask, stale_now, waits };

joined_t join_flight(ngx_http_request_t *r, ngx_http_registry_cache_request_t &judged, const std::string &what,
                     bool may_answer_stale, ngx_int_t &rc) {
    if (judged.asked.credentialed || judged.flight.waited) return joined_t::ask;
    judged.flight.key = registry_cache::flight_key(judged.asked.store_name, what);
    const registry_cache::Claimed claimed = ngx_http_registry_cache_claim_flight(judged.cache, judged.flight.key);
    switch (claimed.role) {
        case registry_cache::Claim::leader:
            judged.flight.lead = claimed.lead;
            judged.flight.client = r->connection;
            return joined_t::ask;
        case registry_cache::Claim::full:
            ngx_http_registry_cache_count(judged.cache->sh->flights_full);
            judged.flight.key = 0;
            return joined_t::ask;
        case registry_cache::Claim::follower:
            break;
    }
    if (may_answer_stale && (judged.use_stale & registry_cache::stale_updating) != 0) {
        judged.flight.key = 0;
        judged.lookup.status = status_t::stale;
        ngx_http_registry_cache_count(judged.cache->sh->stale);
        return joined_t::stale_now;
    }
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: waits for another's \"%s\"", what.c_str());
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_attach_state(r, judged, false);
    if (state == nullptr) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return joined_t::waits;
    }
    ngx_http_registry_cache_wait_for_flight(r, *state, ngx_http_registry_cache_flight_kind_t::descriptor,
                                            ngx_http_registry_cache_safely<judge_again>);
    rc = NGX_DONE;
    return joined_t::waits;
}

// Past its time, what is held (`held`: "tag <tag>", or the link's digest) is asked about once
// for all who want it at once.
joined_t join_revalidation(ngx_http_request_t *r, ngx_http_registry_cache_request_t &judged, std::string_view held,
                           ngx_int_t &rc) {
    return join_flight(r, judged, "revalidate " + std::string(held), true, rc);
}

// A GET of a manifest the store cannot answer, by digest or by tag, is fetched once for all
// who want it at once: registries count manifest GETs against pull limits, and a fleet's
// rollout asks for the same ones at the same moment. The leader's verified body is recorded
// and answers the others. Only a request whose answer is kept leads or waits: not a HEAD
// (no body), a range, a conditional, nor where manifests are not verified or kept; and only
// with those the upstream answers alike (the same types named: the flight's name says
// which). True when the request waits (`rc`: the handler's).
bool waits_for_manifest_fetch(ngx_http_request_t *r, ngx_http_registry_cache_request_t &judged, ngx_int_t &rc) {
    if (judged.lookup.status != status_t::miss || judged.asked.method != Method::get ||
        ngx_http_registry_cache_declares_body(r) || !judged.verify.on || judged.verify.manifest_max_size == 0 ||
        r->headers_in.range != nullptr || r->headers_in.if_none_match != nullptr ||
        r->headers_in.if_modified_since != nullptr) {
        return false;
    }
    const registry_cache::ManifestAccept accept = accept_of(r);
    std::string what = "manifest ";
    what.append(judged.asked.route.reference).append(" accepting ");
    for (bool named : {accept.oci_manifest, accept.oci_index, accept.docker_manifest, accept.docker_list,
                       accept.mentions_docker_list}) {
        what.push_back(named ? '1' : '0');
    }
    return join_flight(r, judged, what, false, rc) == joined_t::waits;
}

// A link past registry_cache_link_ttl, revalidated once for all who want it at once.
ngx_int_t revalidate_link(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                          ngx_http_registry_cache_request_t &judged, std::uint64_t held_size) {
    ngx_int_t rc = NGX_OK;
    switch (join_revalidation(r, judged, registry_cache::digest_text(judged.asked.route), rc)) {
        case joined_t::ask:
            return ngx_http_registry_cache_revalidate_link(r, rlcf, judged, held_size);
        case joined_t::stale_now: {
            // What is held may still go upstream (a body whose file is gone): the state
            // must outlive a redirect.
            auto *state = ngx_http_registry_cache_attach_state(r, judged, true);
            return state ? ngx_http_registry_cache_answer_held(r, *state) : NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        case joined_t::waits:
            break;
    }
    return rc;
}

// A GET of a blob where bodies are kept: answered from the store's disk when the link of this
// repository is servable (the rule of a HEAD hit) and the body's file is there, whole; else
// passed on, where the verifying filter keeps what comes.
ngx_int_t handle_blob_body(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                           ngx_http_registry_cache_request_t &judged) {
    registry_cache::BodyLookup found;
    judged.lookup.status = read_body(r, judged, found);
    // Past registry_cache_link_ttl, a body on disk is worth one HEAD: the upstream's
    // confirmation spares fetching it whole.
    if (judged.lookup.expired && found.body_status == LookupStatus::hit && may_ask_head(r, rlcf, judged)) {
        return revalidate_link(r, rlcf, judged, found.descriptor.size);
    }
    if (judged.lookup.status == status_t::hit) {
        // Answered here: no redirect follows, so r->ctx is enough to keep the state, and a
        // hit never needs to know who asked. A body the disk cannot answer after all (its
        // file gone) declines with nothing sent, and goes on as a miss below.
        auto *state = ngx_http_registry_cache_attach_state(r, judged, false);
        if (state == nullptr) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        const ngx_int_t rc = ngx_http_registry_cache_answer_body(r, *state, found);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }
    return ngx_http_registry_cache_body_miss(r, judged);
}

// A GET or HEAD of a manifest by digest: answered from the store when it holds the manifest
// in this repository, learned without credentials, and the upstream would send it to this
// client (policy/manifest_answer.h); else passed on, where a verified GET teaches it (once for
// the GETs that miss together: waits_for_manifest_fetch).

ngx_int_t handle_manifest(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                          ngx_http_registry_cache_request_t &judged) {
    auto &sh = *judged.cache->sh;
    registry_cache::ManifestLookup found;
    judged.lookup.status = read_manifest(r, judged, found);
    if (judged.lookup.status == status_t::hit || judged.lookup.expired) {
        // distribution's order: an If-None-Match naming the digest is a 304 before the type
        // is judged against the client's Accept.
        std::string_view digest = registry_cache::digest_text(judged.asked.route);
        const bool not_modified = if_none_match_names(r, digest);
        // (Accept is read only where it decides: a held 304 answers whatever it names.)
        const bool accepted = (!not_modified || judged.lookup.expired) &&
                              registry_cache::accepts_manifest(found.descriptor.media_type.view(), accept_of(r));
        const bool answerable = not_modified || accepted;
        // Past registry_cache_link_ttl: one HEAD upstream says whether it still is. Only for
        // a client that names the type held: the HEAD carries its Accept, and distribution
        // answers one that does not with a 404, which would forget a link that is there.
        if (accepted && judged.lookup.expired && may_ask_head(r, rlcf, judged)) {
            return revalidate_link(r, rlcf, judged, found.descriptor.size);
        }
        if (answerable && judged.lookup.status == status_t::hit) {
            auto *state = ngx_http_registry_cache_attach_state(r, judged, false);
            if (state == nullptr) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            ngx_http_registry_cache_count(sh.manifest_hits);
            return ngx_http_registry_cache_send_manifest(r, digest, found.descriptor.media_type.view(),
                                                         found.body.view(), not_modified);
        }
        // A type this client did not name: the upstream answers (distribution: a 404).
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: manifest held, but %s",
                       answerable ? "past registry_cache_link_ttl" : "not of a type the client accepts");
        judged.lookup.status = status_t::miss;
    }
    judged.asked.credentialed = ngx_http_registry_cache_carries_credentials(r);
    // (A request that waits is counted when it is judged again.)
    if (ngx_int_t rc; waits_for_manifest_fetch(r, judged, rc)) {
        return rc;
    }
    if (judged.lookup.status == status_t::miss) {
        ngx_http_registry_cache_count(sh.manifest_misses);
    }
    if (ngx_http_registry_cache_attach_state(r, judged, true) == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return pass(r, rlcf->pass);
}

// A GET or HEAD of a manifest by tag: answered from the store while the tag is younger than
// registry_cache_tag_ttl, when the tag and the manifest it names were learned without
// credentials in this repository and the client names the manifest's type (the upstream
// would rewrite it for one that does not); else passed on, where the answer teaches the tag
// (and a verified GET the manifest).
ngx_int_t handle_tag(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                     ngx_http_registry_cache_request_t &judged) {
    auto &sh = *judged.cache->sh;
    registry_cache::Store *store = judged.cache->worker ? judged.cache->worker->store.get() : nullptr;
    registry_cache::TaggedLookup found;
    std::string error;
    if (store == nullptr) {
        found.status = LookupStatus::error;
        error = "the store is not open";
    } else {
        found = store->lookup_tag(judged.asked.store_name, judged.asked.route.reference, &error);
        if (found.status == LookupStatus::miss) {
            const std::string_view hosted = ngx_http_registry_cache_hosted_name(r, judged);
            if (!hosted.empty()) {
                // What was learned with the Host forwarded, unless it holds less than the
                // record of the tag found already (which alone answers a HEAD).
                registry_cache::TaggedLookup there = store->lookup_tag(hosted, judged.asked.route.reference, &error);
                if (there.status != LookupStatus::miss || !found.tag_found) {
                    found = there;
                    if (found.status == LookupStatus::hit) judged.asked.store_name = hosted;
                }
            }
        }
    }
    const registry_cache::ManifestAccept accept = accept_of(r);
    judged.asked.accept_names_list = accept.docker_list;
    // A HEAD needs no bytes: a tag whose record says all a HEAD answers (the manifest's size
    // too; learned from a HEAD, say) answers one while it is fresh, its manifest held or not.
    const bool head_by_record = judged.asked.method == Method::head && found.tag_found && found.tag.size > 0;
    const bool record_alone = head_by_record && found.status == LookupStatus::miss;
    // The tag and the manifest it names answer only together: a pair with a credentialed
    // half reads as credentialed.
    const bool public_pair = found.tag.scope == registry_cache::LinkScope::public_access &&
                             (record_alone || found.manifest.link.scope == registry_cache::LinkScope::public_access);
    judged.lookup.status = ngx_http_registry_cache_judge_read(
        r, judged, record_alone ? LookupStatus::hit : found.status,
        public_pair ? registry_cache::LinkScope::public_access : registry_cache::LinkScope::credentialed, error);
    if (judged.lookup.status == status_t::hit) {
        // The manifest the tag names is a link like any other (registry_cache_link_ttl): past
        // it, the tag is asked about again, whose answer confirms both. A tag's record alone
        // is judged so by its own age (what the upstream said of the manifest, it said then).
        const std::uint64_t link_stored_at = record_alone ? found.tag.stored_at : found.manifest.link.stored_at;
        const bool link_fresh = !registry_cache::link_expired(link_stored_at, static_cast<std::uint64_t>(ngx_time()),
                                                              static_cast<std::uint64_t>(rlcf->link_ttl));
        const auto age = ngx_time() - static_cast<time_t>(found.tag.stored_at);
        const bool fresh = link_fresh && age >= 0 && age < rlcf->tag_ttl;
        const std::string_view digest = found.tag.digest.view();
        const std::string_view type =
            head_by_record ? found.tag.media_type.view() : found.manifest.descriptor.media_type.view();
        // distribution's order: an If-None-Match naming what the tag resolves to is a 304
        // (what it resolves to for this client: not a list's rewrite another was given).
        const bool not_modified =
            fresh && if_none_match_names(r, digest) &&
            registry_cache::tag_not_modified_answerable(type, found.tag.learned_naming_list, accept);
        const bool accepted = registry_cache::accepts_tagged_manifest(type, found.tag.learned_naming_list, accept);
        if (not_modified || (fresh && accepted)) {
            if (ngx_http_registry_cache_attach_state(r, judged, false) == nullptr) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            ngx_http_registry_cache_count(sh.tag_hits);
            return head_by_record ? ngx_http_registry_cache_send_tag_head(r, digest, type, found.tag.size, not_modified)
                                  : ngx_http_registry_cache_send_manifest(r, digest, type, found.manifest.body.view(),
                                                                          not_modified);
        }
        // What is held past its time is revalidated with the manifest it names; a record
        // alone is not (a HEAD that asks upstream teaches it anew).
        if (!fresh && accepted && !record_alone && may_ask_head(r, rlcf, judged)) {
            // One HEAD upstream says whether the tag still names what is held (for a client's
            // HEAD too: it costs the same exchange, and an upstream that fails can then be
            // answered with what is held), once for all who ask at once.
            ngx_int_t rc = NGX_OK;
            switch (join_revalidation(r, judged, "tag " + std::string(judged.asked.route.reference), rc)) {
                case joined_t::ask:
                    return ngx_http_registry_cache_revalidate_tag(r, rlcf, judged, found);
                case joined_t::stale_now:
                    if (ngx_http_registry_cache_attach_state(r, judged, false) == nullptr) {
                        return NGX_HTTP_INTERNAL_SERVER_ERROR;
                    }
                    return ngx_http_registry_cache_send_manifest(r, digest, found.manifest.descriptor.media_type.view(),
                                                                 found.manifest.body.view(), if_none_match_names(r, digest));
                case joined_t::waits:
                    break;
            }
            return rc;
        }
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: tag held, but %s",
                       accepted ? "older than its TTL" : "not of a type the client names");
        judged.lookup.status = status_t::miss;
    }
    judged.asked.credentialed = ngx_http_registry_cache_carries_credentials(r);
    // (A request that waits is counted when it is judged again.)
    if (ngx_int_t rc; waits_for_manifest_fetch(r, judged, rc)) {
        return rc;
    }
    if (judged.lookup.status == status_t::miss) {
        ngx_http_registry_cache_count(sh.tag_misses);
    }
    if (ngx_http_registry_cache_attach_state(r, judged, true) == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return pass(r, rlcf->pass);
}

// A request the cache does not look up: passed on, counted; what the upstream answers
// teaches the cache only when `may_record` (a DELETE's answer clears what it held).
ngx_int_t bypass(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf,
                 ngx_http_registry_cache_request_t &judged, bool may_record) {
    ngx_http_registry_cache_count(judged.cache->sh->bypasses);
    judged.lookup.status = status_t::bypass;
    judged.lookup.may_record = may_record;
    // A manifest pushed through the edge is kept as it passes, for its answer to teach.
    judged.pushed.on = may_record && judged.asked.method == Method::put &&
                       judged.asked.route.kind == registry_cache::RouteKind::manifest;
    // A push's own parameters (?digest=, ?mount=&from=) say what it pushes, not who pushes.
    judged.asked.credentialed = ngx_http_registry_cache_carries_credentials(
        r, judged.asked.route.kind == registry_cache::RouteKind::blob_upload);
    if (ngx_http_registry_cache_attach_state(r, judged, true) == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return pass(r, rlcf->pass);
}

// Judges the request into `judged` (zeroed) and answers it, or sends it on its way.
ngx_int_t judge(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf, arrival_t arrival,
                ngx_http_registry_cache_request_t &judged) {
    auto *cache = static_cast<ngx_http_registry_cache_t *>(rlcf->shm_zone->data);

    // A request that comes back here (an error_page pointing into /v2/, say) was counted
    // and judged the first time; a subrequest shares its parent's pool, where the state
    // lives, and must neither find nor leave any: both are just passed on.
    if (r != r->main || ngx_http_registry_cache_find_state(r) != nullptr) {
        return pass(r, rlcf->pass);
    }

    // Mirror mode: a client's own Authorization never goes upstream (the edge's token does),
    // nor counts as a credential here.
    if (rlcf->upstream_auth && !ngx_http_registry_cache_drop_client_authorization(r)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    Route route = registry_cache::parse_route(request_path(r));
    if (route.error != RouteError::none) {
        ngx_http_registry_cache_count(cache->sh->refused);
        // The request line is in the log context already; the message says what was wrong.
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "registry cache: %s",
                      route.error == RouteError::name_invalid ? "invalid repository name"
                                                              : "invalid digest");
        return ngx_http_registry_cache_send_error(r, route.error);
    }

    judged.cache = cache;
    judged.asked.route = route;
    judged.asked.method = method_of(r);
    judged.lookup.may_record = true;
    judged.lookup.link_ttl = rlcf->link_ttl;
    judged.flight.waited = arrival == arrival_t::waited;
    switch (ngx_http_registry_cache_place(r, *rlcf, judged)) {
        case ngx_http_registry_cache_namespace_t::placed:
            break;
        case ngx_http_registry_cache_namespace_t::error:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        case ngx_http_registry_cache_namespace_t::invalid:
            judged.use_stale = registry_cache::stale_off;  // nor replays the version check
            judged.mirror.handled = true;                  // nor lends the edge's token
            return bypass(r, rlcf, judged, false);
    }
    judged.verify.on = rlcf->verify != 0;
    judged.verify.manifest_max_size = rlcf->manifest_max_size;
    judged.verify.stored_proof_ttl = rlcf->stored_proof_ttl;
    judged.use_stale = rlcf->use_stale;
#if (NGX_THREADS)
    judged.verify.threads = rlcf->verify_threads;
#endif
    // Mirror mode asks clients for nothing: the edge answers the version check itself (the
    // upstream's would challenge them for credentials the edge holds).
    if (rlcf->upstream_auth && route.kind == registry_cache::RouteKind::base &&
        (judged.asked.method == Method::get || judged.asked.method == Method::head)) {
        return answer_ping(r);
    }
    // A client's own token proves its right to pull only where the operator said whose
    // tokens to trust, its Basic credential only where the operator lets the upstream's
    // acceptance be remembered; elsewhere the hit path reads no credential at all.
    if (!route.name.empty() && (judged.asked.method == Method::get || judged.asked.method == Method::head)) {
        if (rlcf->token_trust != nullptr) {
            judged.asked.proven = ngx_http_registry_cache_bearer_proves(r, *rlcf->token_trust, route.name);
        }
        if (!judged.asked.proven && rlcf->credential_memory != nullptr) {
            ngx_http_registry_cache_hosted_name(r, judged);  // where proofs are kept
            judged.asked.proven = ngx_http_registry_cache_basic_proves(r, *rlcf, judged);
        }
    }

    if ((judged.asked.method == Method::get || judged.asked.method == Method::head) &&
        registry_cache::is_recordable_manifest(route))
    {
        return handle_manifest(r, rlcf, judged);
    }
    if ((judged.asked.method == Method::get || judged.asked.method == Method::head) &&
        registry_cache::is_tag_route(route))
    {
        return handle_tag(r, rlcf, judged);
    }

    if (judged.asked.method == Method::get && registry_cache::is_recordable_blob(route) &&
        cache->worker != nullptr && cache->worker->blobs != nullptr)
    {
        return handle_blob_body(r, rlcf, judged);
    }

    // A HEAD with Range is the upstream's to answer (206 and Content-Range).
    if (judged.asked.method == Method::head && registry_cache::is_recordable_blob(route) &&
        r->headers_in.range == nullptr)
    {
        if (arrival == arrival_t::came) ngx_http_registry_cache_count(cache->sh->lookups);  // counted when it came
        registry_cache::LookupResult found;
        judged.lookup.status = read_store(r, judged, found);
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: lookup: %s",
                       judged.lookup.status == status_t::hit    ? "hit"
                       : judged.lookup.status == status_t::miss ? "miss (absent or not public)"
                                                                 : "store error");
        if (judged.lookup.status == status_t::hit) {
            // Answered here: no redirect follows, so r->ctx is enough to keep the state.
            auto *state = ngx_http_registry_cache_attach_state(r, judged, false);
            return state ? answer_hit(r, *state, found) : NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        // Past registry_cache_link_ttl: the HEAD a miss would send, asked as a revalidation,
        // so that an upstream failing as registry_cache_use_stale allows leaves the link held
        // to answer (STALE) instead of failing the client. Where it allows nothing, that is
        // all a revalidation could add over a miss, and an answer not confirming the link
        // would cost the same HEAD again (the client's own, after as long a wait): a miss,
        // whose flight also lets clients asking at once share one HEAD.
        if (judged.lookup.expired && (judged.use_stale & registry_cache::stale_off) == 0 &&
            may_ask_head(r, rlcf, judged)) {
            return revalidate_link(r, rlcf, judged, found.descriptor.size);
        }
        // Only what goes upstream can learn: a hit never needs to know who asked.
        judged.asked.credentialed = ngx_http_registry_cache_carries_credentials(r);
        return miss(r, rlcf, judged);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "registry cache: bypass: not a HEAD of a recordable blob, or a Range");
    return bypass(r, rlcf, judged, true);
}

// `arrival`: whether the request came, or is judged again after a wait (which ends at
// `wait_until` for one that may wait again). A request that claimed a flight to lead and
// failed before a state of its own could land it (out of memory, say) lands it here: its
// followers must not wait for an answer that will not come.
ngx_int_t handle(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t *rlcf, arrival_t arrival,
                 ngx_msec_t wait_until) {
    ngx_http_registry_cache_request_t judged{};
    judged.flight.wait_until = wait_until;
    const ngx_int_t rc = judge(r, rlcf, arrival, judged);
    if (judged.flight.lead != 0 && (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE)) {
        ngx_http_registry_cache_abandon_flight(judged);
    }
    return rc;
}

}  // namespace

ngx_int_t ngx_http_registry_cache_body_miss(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    if (state.lookup.status != status_t::error) {  // a store error stays one: no flight for it
        state.lookup.status = status_t::miss;
    }
    state.asked.credentialed = ngx_http_registry_cache_carries_credentials(r);
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    return miss(r, rlcf, state);
}

namespace {

// A link the upstream confirmed: good for another TTL from now (a manifest's with its body).
void renew_link(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                const registry_cache::BlobDescriptor &held, std::string_view body = {}) {
    registry_cache::BlobDescriptor renewed = held;
    renewed.stored_at = static_cast<std::uint64_t>(ngx_time());
    ngx_http_registry_cache_teach(r, state, registry_cache::Lesson::record, renewed, body);
}

}  // namespace

ngx_int_t ngx_http_registry_cache_answer_held(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    const bool renew = state.lookup.status == status_t::revalidated;
    state.lookup.link_ttl = 0;  // confirmed, or allowed stale: its age is not judged again
    if (state.asked.route.kind == RouteKind::manifest) {
        registry_cache::ManifestLookup found;
        if (read_manifest(r, state, found) == status_t::hit) {
            const std::string_view digest = registry_cache::digest_text(state.asked.route);
            if (renew) renew_link(r, state, found.descriptor, found.body.view());
            return ngx_http_registry_cache_send_manifest(r, digest, found.descriptor.media_type.view(), found.body.view(),
                                                         if_none_match_names(r, digest));
        }
    } else if (state.asked.method == Method::head) {
        registry_cache::LookupResult found;
        if (read_store(r, state, found) == status_t::hit) {
            if (renew) renew_link(r, state, found.descriptor);
            return ngx_http_registry_cache_send_hit(r, state.asked.route, found.descriptor);
        }
    } else {
        registry_cache::BodyLookup found;
        if (read_body(r, state, found) == status_t::hit) {
            if (renew) renew_link(r, state, found.descriptor);
            const ngx_int_t rc = ngx_http_registry_cache_answer_body(r, state, found);
            if (rc != NGX_DECLINED) {
                return rc;
            }
        }
    }
    return ngx_http_registry_cache_held_miss(r, state);
}

ngx_int_t ngx_http_registry_cache_held_miss(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    if (state.asked.route.kind != RouteKind::manifest) {
        return ngx_http_registry_cache_body_miss(r, state);
    }
    state.lookup.status = status_t::miss;
    ngx_http_registry_cache_count(state.cache->sh->manifest_misses);
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    return pass(r, rlcf->pass);
}

ngx_int_t ngx_http_registry_cache_handler(ngx_http_request_t *r) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    if (rlcf->shm_zone == nullptr) {
        return NGX_DECLINED;
    }
    // The cache passes requests to named locations; it never handles one itself, which
    // would loop when that location inherits `registry_cache` and has no content handler.
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    if (clcf->named) {
        return NGX_DECLINED;
    }
    try {
        return handle(r, rlcf, arrival_t::came);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: %s", e.what());
    } catch (...) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: unknown exception");
    }
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}
