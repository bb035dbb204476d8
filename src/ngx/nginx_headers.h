// nginx's own headers, for every file of the glue (first: they set the 64-bit off_t and the
// feature macros that the rest must agree with), and the conversions between nginx's strings
// and C++ views that every file needs.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <string_view>

// A copy of `s` in `pool`; false when the pool has no memory (an empty `s` always copies).
inline bool ngx_http_registry_cache_pool_copy(ngx_pool_t *pool, std::string_view s, ngx_str_t &out) noexcept {
    out = ngx_str_t{s.size(), nullptr};
    if (s.empty()) {
        return true;
    }
    out.data = static_cast<u_char *>(ngx_pnalloc(pool, s.size()));
    if (out.data == nullptr) {
        return false;
    }
    ngx_memcpy(out.data, s.data(), s.size());
    return true;
}

// An ngx_str_t over `s`, for "%V" in log lines; nginx never writes through it there.
inline ngx_str_t ngx_http_registry_cache_str(std::string_view s) noexcept {
    return {s.size(), reinterpret_cast<u_char *>(const_cast<char *>(s.data()))};
}

inline std::string_view ngx_http_registry_cache_view(const ngx_str_t &s) noexcept {
    return {reinterpret_cast<const char *>(s.data), s.len};
}

// Whether header `h` (of a request or an upstream's answer) is `name`, in any case.
inline bool ngx_http_registry_cache_is_named(const ngx_table_elt_t &h, std::string_view name) noexcept {
    return h.hash != 0 && h.key.len == name.size() &&
           ngx_strncasecmp(h.key.data, reinterpret_cast<u_char *>(const_cast<char *>(name.data())),
                           name.size()) == 0;
}

// Calls `f(value)` for each header `name` in `headers`, in order (a client may send one
// several times); how many there were.
template <typename F>
int ngx_http_registry_cache_each_header(const ngx_list_t &headers, std::string_view name, F &&f) {
    int seen = 0;
    for (const ngx_list_part_t *part = &headers.part; part != nullptr; part = part->next) {
        auto *h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (ngx_http_registry_cache_is_named(h[i], name)) {
                f(ngx_http_registry_cache_view(h[i].value));
                seen++;
            }
        }
    }
    return seen;
}

// How many times header `name` is in `headers`, and the value of the last one.
inline int ngx_http_registry_cache_find_header(const ngx_list_t &headers, std::string_view name,
                                               std::string_view &value) noexcept {
    return ngx_http_registry_cache_each_header(headers, name, [&value](std::string_view v) { value = v; });
}
