// The header filter that listens to the upstream's answers to requests the handler passed
// on: counts their outcome and teaches the cache what the upstream confirmed.
#include "ngx_registry_cache.h"

#include <string>

#include "registry_cache/oci_error.h"

namespace {

ngx_http_output_header_filter_pt next_header_filter;
ngx_http_output_body_filter_pt next_body_filter;

bool is_named(const ngx_table_elt_t &h, std::string_view name) noexcept {
    return h.hash != 0 && h.key.len == name.size() &&
           ngx_strncasecmp(h.key.data, reinterpret_cast<u_char *>(const_cast<char *>(name.data())),
                           name.size()) == 0;
}

// How many times the upstream sent header `name`, and the value of the last one.
int find_header(const ngx_list_t &headers, std::string_view name, std::string_view &value) noexcept {
    int seen = 0;
    for (const ngx_list_part_t *part = &headers.part; part != nullptr; part = part->next) {
        auto *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (is_named(h[i], name)) {
                value = ngx_http_registry_cache_view(h[i].value);
                seen++;
            }
        }
    }
    return seen;
}

// When the upstream gave no answer at all (refused, reset, timed out), nginx answers 502 or
// 504 with an HTML page; registry clients parse OCI error JSON, so they get that instead,
// with the same status. Returns false when the response cannot be changed.
bool answer_failure_as_oci(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    static ngx_str_t json = ngx_string("application/json; charset=utf-8");
    ngx_uint_t status = r->headers_out.status;
    if (r->upstream->headers_in.status_n != 0 ||
        (status != NGX_HTTP_BAD_GATEWAY && status != NGX_HTTP_GATEWAY_TIME_OUT))
    {
        return true;
    }
    std::string body = registry_cache::render_error_body(
        registry_cache::OciErrorCode::unavailable,
        status == NGX_HTTP_GATEWAY_TIME_OUT ? "the upstream registry did not answer in time"
                                            : "the upstream registry could not be reached");
    if (!ngx_http_registry_cache_pool_copy(r->pool, body, state.error_body)) {
        return false;
    }

    r->headers_out.content_type = json;
    r->headers_out.content_type_len = json.len;
    r->headers_out.content_type_lowcase = nullptr;
    r->headers_out.charset.len = 0;
    r->headers_out.content_length_n = static_cast<off_t>(body.size());
    if (r->headers_out.content_length != nullptr) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = nullptr;
    }
    return ngx_http_registry_cache_add_registry_headers(r);
}

void count_outcome(ngx_http_registry_cache_t *cache, ngx_uint_t status) noexcept {
    if (status >= 100 && status < 600) {
        ngx_http_registry_cache_count(cache->sh->upstream[status / 100 - 1]);
    }
}

// What the upstream itself said, from u->headers_in: not what other filters or an
// error_page made of it in r->headers_out.
void inspect(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    ngx_http_upstream_t *u = r->upstream;
    const ngx_http_upstream_headers_in_t &in = u->headers_in;
    // The response going out must be the upstream's answer, not one nginx made after it
    // (a 502 after a failure, an intercepted error page).
    if (in.status_n == 0 || in.status_n != r->headers_out.status) {
        return;
    }

    registry_cache::UpstreamAnswer answer;
    answer.path = registry_cache::strip_query(ngx_http_registry_cache_view(u->uri));
    answer.status = static_cast<int>(in.status_n);
    std::string_view digest;
    // A header sent twice is as good as absent: the two values cannot both be the truth.
    if (find_header(in.headers, "Docker-Content-Digest", digest) == 1) {
        answer.docker_content_digest = digest;
    }
    answer.content_length = in.content_length_n;
    if (in.content_type != nullptr) {
        answer.content_type = ngx_http_registry_cache_view(in.content_type->value);
    }
    std::string_view encoding;
    answer.content_encoded = find_header(in.headers, "Content-Encoding", encoding) > 0;

    // A body that will be hashed teaches at its end, from its bytes, and is hashed even
    // when nothing may be recorded: a wrong body must never reach the client whole.
    if (ngx_http_registry_cache_start_verify(r, state, answer) || !state.may_record) {
        return;
    }
    registry_cache::BlobDescriptor descriptor;
    auto lesson = registry_cache::learn(state.route, state.method, answer,
                                        static_cast<std::uint64_t>(ngx_time()), descriptor);
    ngx_http_registry_cache_teach(r, state, lesson, descriptor);
}

ngx_int_t header_filter(ngx_http_request_t *r) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    // Only the answer to a request the handler passed on, once, and only what an
    // upstream said: a response nginx made up itself (an error_page, a `return`) teaches
    // nothing.
    if (state != nullptr && !state->observed && state->status != ngx_http_registry_cache_status_t::hit) {
        state->observed = true;
        if (r->upstream != nullptr) {
            count_outcome(state->cache, r->headers_out.status);
            if (!answer_failure_as_oci(r, *state)) {
                return NGX_ERROR;
            }
            try {
                inspect(r, *state);
            } catch (const std::exception &e) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "registry cache: recording failed: %s", e.what());
            }
        }
    }
    return next_header_filter(r);
}

// Sends the OCI error JSON that replaces nginx's own error page (learn_filter.cpp), once,
// and drops the page.
ngx_int_t send_error_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    if (state.error_body_sent) {
        return NGX_OK;
    }
    state.error_body_sent = true;
    auto *b = static_cast<ngx_buf_t *>(ngx_pcalloc(r->pool, sizeof(ngx_buf_t)));
    if (b == nullptr) {
        return NGX_ERROR;
    }
    b->pos = state.error_body.data;
    b->last = state.error_body.data + state.error_body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};
    return next_body_filter(r, &out);
}

// The body half of answering nginx's own 502/504 with OCI JSON: the page nginx made is
// dropped and the JSON goes instead, once.
ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    ngx_http_registry_cache_request_t *state = ngx_http_registry_cache_find_state(r);
    if (state == nullptr || state->error_body.len == 0) {
        return next_body_filter(r, in);
    }
    return send_error_body(r, *state);
}

}  // namespace

void ngx_http_registry_cache_teach(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                   registry_cache::Lesson lesson,
                                   const registry_cache::BlobDescriptor &descriptor) {
    if (lesson == registry_cache::Lesson::nothing || !state.may_record) {
        return;
    }
    // A leader's flight lands when its record commits (writer.cpp), not when it ends.
    std::uint64_t flight = 0;
    if (state.leader && !state.landed && lesson == registry_cache::Lesson::record) {
        flight = state.flight;
        state.landed = true;
    }
    registry_cache::StoreWrite write;
    write.kind = lesson == registry_cache::Lesson::record ? registry_cache::StoreWrite::Kind::record
                                                          : registry_cache::StoreWrite::Kind::clear_link;
    write.repository.assign(state.route.name);
    write.digest.assign(registry_cache::digest_text(state.route));
    write.descriptor = descriptor;
    write.link.scope = state.credentialed ? registry_cache::LinkScope::credentialed
                                          : registry_cache::LinkScope::public_access;
    write.link.stored_at = descriptor.stored_at;
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), flight, r->connection->log);
}

ngx_int_t ngx_http_registry_cache_filter_init(ngx_conf_t *) noexcept {
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = header_filter;
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}
