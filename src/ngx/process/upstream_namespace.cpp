// The request's upstream namespace (process/upstream_namespace.h).
#include "process/upstream_namespace.h"

#include <string>
#include <string_view>

#include "registry_cache/upstream_namespace.h"

namespace {

// $host: the request's Host (lowercase, without its port), else the server's name.
std::string_view host_of(ngx_http_request_t *r) noexcept {
    if (r->headers_in.server.len != 0) return ngx_http_registry_cache_view(r->headers_in.server);
    auto *cscf = static_cast<ngx_http_core_srv_conf_t *>(ngx_http_get_module_srv_conf(r, ngx_http_core_module));
    return ngx_http_registry_cache_view(cscf->server_name);
}

bool copy_name(ngx_http_request_t *r, std::string_view ns, std::string_view name, std::string_view &out) {
    ngx_str_t stored;
    if (!ngx_http_registry_cache_pool_copy(r->pool, registry_cache::in_namespace(ns, name), stored)) return false;
    out = ngx_http_registry_cache_view(stored);
    return true;
}

bool equal_nocase(char a, char b) noexcept {
    return ngx_tolower(static_cast<u_char>(a)) == ngx_tolower(static_cast<u_char>(b));
}

// The value of the Host header in the request nginx's proxy module built (its first buffer
// holds the request line and every header); empty when none went.
std::string_view sent_host(const ngx_http_request_t *r) noexcept {
    const ngx_http_upstream_t *u = r->upstream;
    if (u == nullptr || u->request_bufs == nullptr || u->request_bufs->buf == nullptr) return {};
    const ngx_buf_t *b = u->request_bufs->buf;
    if (b->start == nullptr || b->pos == nullptr || b->pos < b->start || b->last < b->pos) return {};
    // Only the buffer the proxy built the request head in, sized for it and untagged. With
    // proxy_request_buffering off nginx frees the chain links once they are sent, and a link
    // taken again may hold a buffer of the client's body, whose bytes are the client's to
    // write: a Host read there would be the client's word. Body buffers carry the tag of the
    // filter that made them, and none is exactly one request line and its headers.
    const std::string_view head(reinterpret_cast<const char *>(b->start), static_cast<std::size_t>(b->last - b->start));
    const std::string_view method = ngx_http_registry_cache_view(r->method_name);
    if (b->tag != nullptr || b->last != b->end || head.size() < method.size() + 4 ||
        head.substr(0, method.size()) != method || head[method.size()] != ' ' ||
        head.find("\r\n\r\n") != head.size() - 4) {
        return {};
    }
    const std::string_view headers = head.substr(0, head.size() - 4);
    static constexpr std::string_view name = "\r\nhost:";
    for (std::size_t at = headers.find("\r\n"); at != std::string_view::npos; at = headers.find("\r\n", at + 2)) {
        if (headers.size() - at < name.size()) break;
        bool match = true;
        for (std::size_t i = 0; i < name.size() && match; ++i) match = equal_nocase(headers[at + i], name[i]);
        if (!match) continue;
        std::size_t from = at + name.size();
        while (from < headers.size() && (headers[from] == ' ' || headers[from] == '\t')) ++from;
        std::size_t to = headers.find("\r\n", from);
        if (to == std::string_view::npos) to = headers.size();
        while (to > from && (headers[to - 1] == ' ' || headers[to - 1] == '\t')) --to;
        return headers.substr(from, to - from);
    }
    return {};
}

// Whether `sent` carries `host`: the Host forwarded as it came, or a name made of it. A short
// Host found by chance only costs sharing (a name of its own), never a wrong answer.
bool carries(std::string_view sent, std::string_view host) noexcept {
    return !host.empty() && sent.find(host) != std::string_view::npos;
}

// The Host header as the client sent it, as a name (empty: none): not $host when the request
// line named another (the absolute form), and a forwarded $http_host is this one.
std::string header_host(ngx_http_request_t *r) {
    return r->headers_in.host != nullptr
               ? registry_cache::host_name_of(ngx_http_registry_cache_view(r->headers_in.host->value))
               : std::string();
}

}  // namespace

ngx_http_registry_cache_namespace_t ngx_http_registry_cache_place(ngx_http_request_t *r,
                                                                  const ngx_http_registry_cache_loc_conf_t &rlcf,
                                                                  ngx_http_registry_cache_request_t &judged) noexcept {
    judged.asked.upstream_namespace = {};
    judged.asked.store_name = judged.asked.route.name;
    judged.asked.hosted_name = {};
    judged.asked.hosted_built = false;
    std::string_view ns;
    if (rlcf.upstream_namespace != nullptr) {
        ngx_str_t value;
        if (ngx_http_complex_value(r, rlcf.upstream_namespace, &value) != NGX_OK) {
            return ngx_http_registry_cache_namespace_t::error;
        }
        ns = ngx_http_registry_cache_view(value);
        if (!ns.empty() && !registry_cache::is_valid_namespace(ns)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "registry cache: \"registry_cache_namespace\" is \"%V\", no namespace (1 to %uz "
                          "printable characters, no space): the request goes upstream, the cache neither "
                          "answers it nor learns",
                          &value, registry_cache::max_namespace_length);
            return ngx_http_registry_cache_namespace_t::invalid;
        }
    }
    judged.asked.upstream_namespace = ns;
    if (judged.asked.route.name.empty() || ns.empty()) return ngx_http_registry_cache_namespace_t::placed;
    try {
        if (!copy_name(r, ns, judged.asked.route.name, judged.asked.store_name)) {
            return ngx_http_registry_cache_namespace_t::error;
        }
    } catch (...) {
        return ngx_http_registry_cache_namespace_t::error;
    }
    return ngx_http_registry_cache_namespace_t::placed;
}

std::string_view ngx_http_registry_cache_hosted_name(ngx_http_request_t *r,
                                                     ngx_http_registry_cache_request_t &state) noexcept {
    if (state.asked.hosted_built || state.asked.route.name.empty()) return state.asked.hosted_name;
    state.asked.hosted_built = true;
    try {
        const std::string hosted = registry_cache::hosted_namespace(state.asked.upstream_namespace, host_of(r));
        if (!hosted.empty()) copy_name(r, hosted, state.asked.route.name, state.asked.hosted_name);
    } catch (...) {
        state.asked.hosted_name = {};  // out of memory: as a Host too long to keep
    }
    return state.asked.hosted_name;
}

bool ngx_http_registry_cache_place_redirected_answer(ngx_http_request_t *r,
                                                     ngx_http_registry_cache_request_t &state) noexcept {
    if (state.asked.route.name.empty()) return true;
    try {
        // A request line naming another host than the Host header (the absolute form): $host
        // is the request line's, and the Host header may have been the one that went to the
        // registry (proxy_set_header Host $http_host): its tenant's redirect, not $host's.
        const std::string header = header_host(r);
        if (!header.empty() && header != host_of(r)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "registry cache: a redirected answer, and the Host header and the request line "
                          "name two hosts: nothing learned");
            return false;
        }
    } catch (...) {
        return false;
    }
    const std::string_view hosted = ngx_http_registry_cache_hosted_name(r, state);
    if (hosted.empty()) return false;
    state.asked.store_name = hosted;
    return true;
}

bool ngx_http_registry_cache_place_answer(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept {
    if (state.asked.route.name.empty()) return true;
    try {
        const std::string sent = registry_cache::host_name_of(sent_host(r));
        const std::string_view host = host_of(r);  // $host: already a name
        const std::string header = header_host(r);
        const char *why = nullptr;
        if (sent.empty()) {
            why = "no Host went upstream (its default site answered)";
        } else if (!header.empty() && header != host && carries(sent, header)) {
            why = "the Host header and the request line name two hosts, and the Host header went upstream";
        } else if (carries(sent, host) && ngx_http_registry_cache_hosted_name(r, state).empty()) {
            why = "the client's Host went upstream, and is too long to keep entries under";
        }
        if (why != nullptr) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "registry cache: %s: nothing learned", why);
            return false;
        }
        if (carries(sent, host)) state.asked.store_name = state.asked.hosted_name;
        // (Built here in any case: a Basic credential the answer accepted is kept under it.)
        ngx_http_registry_cache_hosted_name(r, state);
        return true;
    } catch (...) {
        return false;
    }
}
