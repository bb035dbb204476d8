// The header filter that listens to the upstream's answers to requests the handler passed
// on: counts their outcome and teaches the cache what the upstream confirmed.
#include "ngx_registry_cache.h"

#include <string>

namespace {

ngx_http_output_header_filter_pt next_header_filter;

// The value of a response header, empty when absent; a header sent twice is as good as
// absent, since the two values cannot both be the truth.
std::string_view single_header(ngx_http_request_t *r, std::string_view name) noexcept {
    std::string_view found;
    int seen = 0;
    for (ngx_list_part_t *part = &r->headers_out.headers.part; part != nullptr; part = part->next) {
        auto *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0 || h[i].key.len != name.size() ||
                ngx_strncasecmp(h[i].key.data, reinterpret_cast<u_char *>(const_cast<char *>(name.data())),
                                name.size()) != 0)
            {
                continue;
            }
            found = ngx_http_registry_cache_view(h[i].value);
            seen++;
        }
    }
    return seen == 1 ? found : std::string_view{};
}

void count_outcome(ngx_http_registry_cache_t *cache, ngx_uint_t status) noexcept {
    if (status >= 100 && status < 600) {
        ngx_http_registry_cache_count(cache->sh->upstream[status / 100 - 1]);
    }
}

void learn(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) {
    registry_cache::UpstreamAnswer answer;
    answer.status = static_cast<int>(r->headers_out.status);
    answer.docker_content_digest = single_header(r, "Docker-Content-Digest");
    answer.content_length = r->headers_out.content_length_n;
    answer.content_type = ngx_http_registry_cache_view(r->headers_out.content_type);

    registry_cache::StoreWrite write;
    auto lesson = registry_cache::learn(state.route, state.method, answer,
                                        static_cast<std::uint64_t>(ngx_time()), write.descriptor);
    if (lesson == registry_cache::Lesson::nothing) {
        return;
    }
    write.kind = lesson == registry_cache::Lesson::record ? registry_cache::StoreWrite::Kind::record
                                                          : registry_cache::StoreWrite::Kind::clear_link;
    write.repository.assign(state.route.name);
    write.digest.assign(registry_cache::digest_text(state.route));
    write.link.scope = state.credentialed ? registry_cache::LinkScope::credentialed
                                          : registry_cache::LinkScope::public_access;
    write.link.stored_at = write.descriptor.stored_at;
    ngx_http_registry_cache_enqueue(state.cache, std::move(write), r->connection->log);
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
            if (state->may_record) {
                try {
                    learn(r, *state);
                } catch (const std::exception &e) {
                    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                  "registry cache: recording failed: %s", e.what());
                }
            }
        }
    }
    return next_header_filter(r);
}

}  // namespace

ngx_int_t ngx_http_registry_cache_filter_init(ngx_conf_t *) noexcept {
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = header_filter;
    return NGX_OK;
}
