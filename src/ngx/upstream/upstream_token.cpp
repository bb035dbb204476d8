// Mirror mode's tokens (upstream/upstream_token.h): the shared table under the zone's lock,
// the token request (an in-memory subrequest to registry_cache_token_pass that carries only
// the edge's Basic credential), and the Authorization the upstream request carries.
#include "upstream/upstream_token.h"
#include "upstream/upstream.h"
#include "process/poll.h"
#include "process/request_state.h"
#include "state/zone_lock.h"

#include <string>
#include <string_view>

#include "registry_cache/auth/upstream_token.h"
#include "registry_cache/upstream_namespace.h"

namespace {

using registry_cache::auth::TokenTurn;

// How long one token request may hold its scope's fetch before others may try, and how long
// a request waits for another's fetch before it goes upstream without a token.
constexpr std::int64_t fetch_timeout_s = 30;
constexpr ngx_msec_t wait_ms = 30000;
// How long a token service that gave no token (or, when it refused one scope, that scope) is
// left alone: requests meanwhile go upstream without one (the upstream's own 401), rather
// than each asking a service that is down.
constexpr std::int64_t backoff_s = 5;

// The zone's token table, allocated on first use (under the lock); null when it does not fit.
registry_cache::auth::UpstreamTokenTable *table_of(ngx_http_registry_cache_t *cache, const ngx_http_registry_cache_zone_lock &lock,
                                                   ngx_log_t *log) noexcept {
    auto &sh = *cache->sh;
    if (sh.tokens == nullptr && !sh.tokens_tried) {
        sh.tokens_tried = true;
        sh.tokens = static_cast<registry_cache::auth::UpstreamTokenTable *>(
            ngx_slab_calloc_locked(lock.pool(), sizeof(registry_cache::auth::UpstreamTokenTable)));
        if (sh.tokens == nullptr) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "registry cache: zone \"%V\" has no room for the upstream tokens (%uz bytes): each "
                          "request fetches its own; give the zone more room",
                          &cache->shm_zone->shm.name, sizeof(registry_cache::auth::UpstreamTokenTable));
        }
    }
    return sh.tokens;
}

// Replaces the request's Authorization headers with `value` (none when empty): the list is
// rebuilt without them, as nginx's list cannot lose an element.
bool set_authorization(ngx_http_request_t *r, std::string_view value) noexcept {
    // The new list is made in place (its `last` points into itself), the old one read from a
    // copy of its head (its further parts live in the pool).
    const ngx_list_t old = r->headers_in.headers;
    if (ngx_list_init(&r->headers_in.headers, r->pool, 8, sizeof(ngx_table_elt_t)) != NGX_OK) return false;
    static constexpr std::string_view name = "Authorization";
    for (const ngx_list_part_t *part = &old.part; part != nullptr; part = part->next) {
        auto *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; ++i) {
            if (h[i].key.len == name.size() &&
                ngx_strncasecmp(h[i].key.data, reinterpret_cast<u_char *>(const_cast<char *>(name.data())),
                                name.size()) == 0) {
                continue;
            }
            auto *copy = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_in.headers));
            if (copy == nullptr) return false;
            *copy = h[i];
        }
    }
    r->headers_in.authorization = nullptr;
    if (value.empty()) return true;
    // Copied first: a failed copy must not leave a pushed element uninitialised in the list.
    ngx_str_t copied;
    if (!ngx_http_registry_cache_pool_copy(r->pool, value, copied)) return false;
    auto *h = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_in.headers));
    if (h == nullptr) return false;
    static u_char lowcase[] = "authorization";
    h->key = ngx_string("Authorization");
    h->lowcase_key = lowcase;
    h->hash = ngx_hash_key(lowcase, sizeof(lowcase) - 1);
    h->value = copied;
    r->headers_in.authorization = h;
    return true;
}

bool send_with(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state, std::string_view token) noexcept {
    if (!ngx_http_registry_cache_pool_copy(r->pool, token, state.mirror.token)) return false;
    std::string value;
    try {
        value = "Bearer ";
        value.append(token);
    } catch (...) {
        return false;
    }
    return set_authorization(r, value);
}

ngx_int_t go(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    return ngx_http_registry_cache_hand_over(r, state.mirror.target);
}

// Ends a wait or a fetch: the request goes on, with the reference it took given back.
void resume(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_http_finalize_request(r, go(r, state));
}

ngx_int_t step(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept;

// A request that waits or fetches takes a reference, which the NGX_DONE it returns gives
// back when its caller finalizes it (each turn's return is finalized, as nginx does with a
// handler's).
void hold(ngx_http_request_t *r) noexcept {
    r->main->count++;
}

void wake(ngx_http_request_t *r) noexcept {
    if (ngx_http_registry_cache_woken_early(r)) return;
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    // A turn that waits again sets the handler back.
    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_http_finalize_request(r, step(r, *state));
}

struct Fetch {
    ngx_http_registry_cache_t *cache;
    ngx_str_t key;
    bool settled;  // the answer was read: kept, or the scope freed
};

// A request that ends before its token request does (its client left) frees the scope's
// fetch, so that the others waiting for it fetch one now rather than after fetch_timeout_s.
void abandon(void *data) noexcept {
    auto *f = static_cast<Fetch *>(data);
    if (f->settled) return;
    ngx_http_registry_cache_zone_lock lock(f->cache);
    if (auto *table = f->cache->sh->tokens) {
        registry_cache::auth::fetch_abandoned(*table, ngx_http_registry_cache_view(f->key));
    }
}

// What nginx is to do with the token request once it is read. Its failure is the token
// service's, not the client's: NGX_ERROR would terminate the client's request (a body larger
// than subrequest_output_buffer_size ends so), and a status would make nginx write an error
// page into the subrequest and call fetched() again. Only a client that left ends its request.
ngx_int_t carry_on(ngx_http_request_t *sr, ngx_int_t rc) noexcept {
    if (sr->connection->error || rc == NGX_HTTP_REQUEST_TIME_OUT || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST) {
        return rc;
    }
    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        // A filter that refused the answer (the postpone filter's "too big subrequest
        // response") marks the subrequest so that its end closes the connection: its end is
        // an ordinary one here.
        sr->filter_finalize = 0;
        return NGX_OK;
    }
    return rc;
}

// The token service's answer, as the subrequest ends: kept for everyone, or the scope freed.
ngx_int_t fetched(ngx_http_request_t *sr, void *data, ngx_int_t rc) noexcept {
    auto *f = static_cast<Fetch *>(data);
    if (f->settled) return carry_on(sr, rc);  // once only: a second call must not free another's claim
    f->settled = true;
    ngx_http_request_t *r = sr->parent;
    const ngx_uint_t status = sr->headers_out.status;
    std::string_view body;
    if (sr->out != nullptr && sr->out->buf != nullptr) {
        body = std::string_view(reinterpret_cast<const char *>(sr->out->buf->pos),
                                static_cast<std::size_t>(sr->out->buf->last - sr->out->buf->pos));
    }
    registry_cache::auth::TokenAnswer answer;
    std::string why = "no answer";
    bool ok = false;
    try {
        if (rc == NGX_OK && status == NGX_HTTP_OK) {
            ok = registry_cache::auth::read_token_answer(body, static_cast<std::int64_t>(ngx_time()), answer, why);
        } else if (status != 0) {
            why = "status " + std::to_string(status);
        }
    } catch (...) {
        why = "out of memory";
    }
    const std::string_view key = ngx_http_registry_cache_view(f->key);
    // A client that left says nothing of the token service.
    const bool gone = sr->connection->error || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST;
    {
        ngx_http_registry_cache_zone_lock lock(f->cache);
        auto *table = table_of(f->cache, lock, r->connection->log);
        const auto now = static_cast<std::int64_t>(ngx_time());
        if (table != nullptr && !key.empty()) {
            if (ok) {
                registry_cache::auth::keep_token(*table, key, answer.token, answer.usable_until, now);
            } else if (gone) {
                registry_cache::auth::fetch_abandoned(*table, key);
            } else {
                // No answer or a 5xx: the service is down for every scope. A 4xx or an answer
                // without a usable token: only this scope is refused.
                const bool service = rc != NGX_OK || status == 0 || status >= NGX_HTTP_INTERNAL_SERVER_ERROR;
                registry_cache::auth::fetch_failed(*table, key, now, backoff_s,
                                                   service ? registry_cache::auth::TokenFailure::service
                                                           : registry_cache::auth::TokenFailure::scope);
            }
        }
    }
    if (ok) {
        // The request that fetched it carries it (whether the table kept it or not).
        ngx_http_registry_cache_count(f->cache->sh->upstream_tokens_fetched);
        ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
        if (state != nullptr && !send_with(r, *state, answer.token)) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "registry cache: out of memory for the edge's token");
        }
    } else if (!gone) {
        ngx_http_registry_cache_count(f->cache->sh->upstream_token_failures);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "registry cache: the token service gave no usable token (%s): requests go upstream "
                      "without one for %L s",
                      why.c_str(), static_cast<int64_t>(backoff_s));
    }
    return carry_on(sr, rc);
}

void after_fetch(ngx_http_request_t *r) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    resume(r, *state);
}

// One token request for the request's scope, through the token location: a GET of its URI
// with `scope=` added, carrying only the edge's credential (never the client's headers).
ngx_int_t fetch(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                ngx_http_registry_cache_loc_conf_t &rlcf, std::string_view scope) noexcept {
    static ngx_str_t get = ngx_string("GET");
    auto *f = static_cast<Fetch *>(ngx_pcalloc(r->pool, sizeof(Fetch)));
    auto *ps = static_cast<ngx_http_post_subrequest_t *>(ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
    if (f == nullptr || ps == nullptr || cln == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    f->cache = state.cache;
    f->key = state.mirror.key;
    cln->handler = abandon;
    cln->data = f;
    ngx_str_t args;
    std::string text;
    try {
        text.assign(ngx_http_registry_cache_view(rlcf.token_pass_args));
        if (!text.empty()) text += '&';
        text += "scope=";
        text.append(scope);
    } catch (...) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!ngx_http_registry_cache_pool_copy(r->pool, text, args)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ps->handler = fetched;
    ps->data = f;
    state.mirror.fetched = true;
    ngx_http_request_t *sr;
    if (ngx_http_subrequest(r, &rlcf.token_pass_uri, &args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY | NGX_HTTP_SUBREQUEST_WAITED) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    sr->method = NGX_HTTP_GET;
    sr->method_name = get;
    sr->header_only = 0;
    sr->request_body = nullptr;
    // Headers of its own: the edge's credential and nothing of the client's.
    ngx_http_headers_in_t &in = sr->headers_in;
    const ngx_str_t server = r->headers_in.server;
    ngx_memzero(&in, sizeof(in));
    if (ngx_list_init(&in.headers, r->pool, 2, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    in.server = server;  // ($host, should the token location use it)
    in.content_length_n = -1;
    in.keep_alive_n = -1;
    if (rlcf.upstream_credentials.len != 0) {
        auto *h = static_cast<ngx_table_elt_t *>(ngx_list_push(&in.headers));
        if (h == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        static u_char lowcase[] = "authorization";
        h->key = ngx_string("Authorization");
        h->lowcase_key = lowcase;
        h->hash = ngx_hash_key(lowcase, sizeof(lowcase) - 1);
        h->value = rlcf.upstream_credentials;
        in.authorization = h;
    }
    hold(r);
    r->write_event_handler = after_fetch;
    return NGX_DONE;
}

ngx_int_t step(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    // The location that judged the request, not the one it is in now (a retry comes from the
    // upstream's location).
    ngx_http_registry_cache_loc_conf_t *rlcf = state.mirror.conf;
    const std::string_view key = ngx_http_registry_cache_view(state.mirror.key);
    std::string token;
    TokenTurn turn = TokenTurn::fetch;
    try {
        ngx_http_registry_cache_zone_lock lock(state.cache);
        auto *table = table_of(state.cache, lock, r->connection->log);
        if (table != nullptr && !key.empty()) {
            turn = registry_cache::auth::token_turn(*table, key, static_cast<std::int64_t>(ngx_time()),
                                                    fetch_timeout_s, token);
        }
    } catch (...) {
        return go(r, state);  // out of memory: upstream without a token
    }
    switch (turn) {
        case TokenTurn::use:
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: the edge's token is held");
            if (!send_with(r, state, token)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
            return go(r, state);
        case TokenTurn::fetch:
            if (state.mirror.fetched || rlcf->token_pass.len == 0) return go(r, state);
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "registry cache: fetches the edge's token");
            try {
                const std::size_t nul = key.find('\0');
                const std::string scope(nul == std::string_view::npos
                                            ? registry_cache::auth::pull_scope(state.asked.route.name)
                                            : std::string(key.substr(nul + 1)));
                return fetch(r, state, *rlcf, scope);
            } catch (...) {
                return go(r, state);
            }
        case TokenTurn::without:
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "registry cache: the token service failed lately: upstream without a token");
            return go(r, state);
        case TokenTurn::wait:
            break;
    }
    if (state.mirror.wait_until == 0) state.mirror.wait_until = ngx_current_msec + wait_ms;
    if (static_cast<ngx_msec_int_t>(state.mirror.wait_until - ngx_current_msec) <= 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: no token after waiting for another request's fetch: the request goes "
                      "upstream without one");
        return go(r, state);
    }
    hold(r);
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = wake;
    ngx_http_registry_cache_poll_later(r, state.mirror.poll_ms);
    return NGX_DONE;
}

bool prepare(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
             ngx_http_registry_cache_request_t &state) noexcept {
    if (state.mirror.key.data != nullptr) return true;
    try {
        // A location of several upstreams keeps each one's tokens apart (no NUL: the key's
        // first NUL ends its realm).
        std::string realm(ngx_http_registry_cache_view(rlcf.token_realm));
        if (!state.asked.upstream_namespace.empty()) {
            realm += registry_cache::namespace_mark;
            realm.append(state.asked.upstream_namespace);
        }
        const std::string key =
            registry_cache::auth::upstream_token_key(realm, registry_cache::auth::pull_scope(state.asked.route.name));
        return ngx_http_registry_cache_pool_copy(r->pool, key, state.mirror.key);
    } catch (...) {
        return false;
    }
}

}  // namespace

bool ngx_http_registry_cache_drop_client_authorization(ngx_http_request_t *r) noexcept {
    return r->headers_in.authorization == nullptr || set_authorization(r, {});
}

ngx_int_t ngx_http_registry_cache_pass_with_token(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
                                                  ngx_http_registry_cache_request_t &state, ngx_str_t &target) noexcept {
    state.mirror.handled = true;
    state.mirror.target = target;
    state.mirror.conf = &rlcf;
    // Only a repository has a pull scope; the rest (the catalog, say) goes as it is.
    if (state.asked.route.name.empty() || state.mirror.token.len != 0) return go(r, state);
    if (!prepare(r, rlcf, state)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return step(r, state);
}

bool ngx_http_registry_cache_token_at_hand(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
                                           ngx_http_registry_cache_request_t &state) noexcept {
    if (state.asked.route.name.empty() || !prepare(r, rlcf, state)) return false;
    const std::string_view key = ngx_http_registry_cache_view(state.mirror.key);
    std::string token;
    try {
        ngx_http_registry_cache_zone_lock lock(state.cache);
        auto *table = table_of(state.cache, lock, r->connection->log);
        if (table == nullptr || key.empty()) return false;
        // A look, not a turn: nothing is claimed (a request that finds none fetches one
        // when it goes upstream).
        if (!registry_cache::auth::held_token(*table, key, static_cast<std::int64_t>(ngx_time()), token)) {
            return false;
        }
    } catch (...) {
        return false;
    }
    return !token.empty() && send_with(r, state, token);
}

void ngx_http_registry_cache_token_refused(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    if (state.mirror.token.len == 0) return;
    bool forgotten = false;
    {
        ngx_http_registry_cache_zone_lock lock(state.cache);
        auto *table = table_of(state.cache, lock, r->connection->log);
        if (table != nullptr) {
            forgotten = registry_cache::auth::forget_token(*table, ngx_http_registry_cache_view(state.mirror.key),
                                                           ngx_http_registry_cache_view(state.mirror.token));
        }
    }
    ngx_http_registry_cache_count(state.cache->sh->upstream_tokens_refused);
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "registry cache: the upstream refused the edge's token (invalid_token)%s",
                  forgotten ? ": it is forgotten, the next request fetches another" : "");
}

bool ngx_http_registry_cache_may_retry(ngx_http_request_t *r, const ngx_http_registry_cache_request_t &state) noexcept {
    const ngx_http_upstream_t *u = r->upstream;
    return r == r->main && !state.mirror.retried && state.mirror.conf != nullptr &&
           (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) && r->headers_in.content_length_n <= 0 &&
           !r->headers_in.chunked && !r->header_sent && u != nullptr && u->cleanup != nullptr &&
           u->peer.connection != nullptr;
}

ngx_int_t ngx_http_registry_cache_retry_with_new_token(ngx_http_request_t *r,
                                                       ngx_http_registry_cache_request_t &state) noexcept {
    // What needs memory comes first: out of it, the refused answer ends the request as any
    // upstream error does, the upstream untouched. The refused token leaves the request (if no
    // new one comes, it goes without any), and the response's headers start bare (the refused
    // answer's were copied into them).
    ngx_list_t headers, trailers;
    if (ngx_list_init(&headers, r->pool, 20, sizeof(ngx_table_elt_t)) != NGX_OK ||
        ngx_list_init(&trailers, r->pool, 4, sizeof(ngx_table_elt_t)) != NGX_OK || !set_authorization(r, {})) {
        return NGX_ERROR;
    }
    ngx_http_upstream_t *u = r->upstream;
    // The upstream's cleanup closes its connection and finalizes the request with NGX_DONE,
    // as ngx_http_upstream_create does for an error_page: a reference of its own balances it.
    r->main->count++;
    (*u->cleanup)(r);
    // What follows must not read the finalized upstream as the answer of a new one.
    r->upstream = nullptr;
    ngx_memzero(&r->headers_out, sizeof(r->headers_out));
    // Fresh lists of one part each: moved by value, their `last` must point into the copy.
    r->headers_out.headers = headers;
    r->headers_out.headers.last = &r->headers_out.headers.part;
    r->headers_out.trailers = trailers;
    r->headers_out.trailers.last = &r->headers_out.trailers.part;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    state.lookup.observed = false;
    state.mirror.retried = true;
    state.mirror.fetched = false;
    state.mirror.token = ngx_str_t{0, nullptr};
    state.mirror.wait_until = 0;
    state.mirror.poll_ms = 0;
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "registry cache: the request goes upstream again with a new token");
    // The upstream module finalizes the answer it passed to the filter once more (the
    // upstream is finalized already, so with NGX_DONE): a second reference for that.
    r->main->count++;
    ngx_http_finalize_request(r, ngx_http_registry_cache_pass_with_token(r, *state.mirror.conf, state,
                                                                         state.mirror.target));
    return NGX_ERROR;
}
