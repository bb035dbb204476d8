// What the module answers itself: the content-phase handler (handler.cpp), hits and OCI
// errors (response.cpp), metrics (metrics_handler.cpp) and $registry_cache_status
// (variables.cpp).
#pragma once

#include "state/conf.h"
#include "state/request.h"

#include <cstddef>
#include <string>
#include <vector>

#include "registry_cache/descriptor.h"
#include "registry_cache/purge.h"
#include "registry_cache/route.h"
#include "registry_cache/store.h"

ngx_int_t ngx_http_registry_cache_handler(ngx_http_request_t *r) noexcept;

// A blob body on the store's disk, opened for one response (closed with the request's pool).
struct ngx_http_registry_cache_body_file_t {
    ngx_fd_t fd;
    ngx_str_t path;
    off_t size;
    ngx_file_info_t info;  // the file as it was opened
    time_t looked;         // when (the wall clock's second, taken just before)
};

// A blob from the store: its headers, as distribution sends them for HEAD and GET alike, and
// with `file` its body (nginx's range filter answers a Range), else none (a HEAD).
ngx_int_t ngx_http_registry_cache_send_hit(ngx_http_request_t *r,
                                           const registry_cache::Route &route,
                                           const registry_cache::BlobDescriptor &d,
                                           const ngx_http_registry_cache_body_file_t *file = nullptr);
// A manifest from the store, named by `digest` (the request's, or what its tag names): 304
// when `not_modified`, else 200 (with its body unless the request is a HEAD).
ngx_int_t ngx_http_registry_cache_send_manifest(ngx_http_request_t *r, std::string_view digest,
                                                std::string_view media_type, std::string_view body,
                                                bool not_modified);
// A HEAD of a tag answered by its record alone (TagRecord::size: the manifest it names is not
// held): the headers send_manifest sends for it.
ngx_int_t ngx_http_registry_cache_send_tag_head(ngx_http_request_t *r, std::string_view digest,
                                                std::string_view media_type, std::uint64_t size,
                                                bool not_modified);

// A tag whose record is past registry_cache_tag_ttl: one HEAD of the tag upstream, with the
// client's headers, decides (revalidate.cpp). The same digest: the manifest held is sent
// (REVALIDATED) and the tag's time renewed; anything else: the request goes upstream.
ngx_int_t ngx_http_registry_cache_revalidate_tag(ngx_http_request_t *r,
                                                 ngx_http_registry_cache_loc_conf_t *rlcf,
                                                 ngx_http_registry_cache_request_t &judged,
                                                 const registry_cache::TaggedLookup &found);
// The same for a link past registry_cache_link_ttl (judged.lookup.expired: a manifest, a
// blob asked by a HEAD, or a blob whose body is on disk, by digest): the HEAD of the object
// itself decides, and the
// handler answers with what it holds (ngx_http_registry_cache_answer_held) or as a miss
// (ngx_http_registry_cache_held_miss).
// `held_size`: the size the link records, which a blob's storage behind a redirect must name.
ngx_int_t ngx_http_registry_cache_revalidate_link(ngx_http_request_t *r,
                                                  ngx_http_registry_cache_loc_conf_t *rlcf,
                                                  ngx_http_registry_cache_request_t &judged,
                                                  std::uint64_t held_size);
// What is held of a link the upstream confirmed (state.lookup.status revalidated: its time
// renewed) or failed to in a way registry_cache_use_stale allows (stale), read again and
// sent; a miss should it have gone meanwhile (handler.cpp).
ngx_int_t ngx_http_registry_cache_answer_held(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state);
// A link the upstream did not confirm: the client's own request goes upstream, as a miss.
ngx_int_t ngx_http_registry_cache_held_miss(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state);
ngx_int_t ngx_http_registry_cache_send_error(ngx_http_request_t *r, registry_cache::RouteError e);
ngx_int_t ngx_http_registry_cache_send_body(ngx_http_request_t *r, ngx_str_t content_type,
                                            const char *data, size_t len) noexcept;

ngx_int_t ngx_http_registry_cache_metrics_handler(ngx_http_request_t *r) noexcept;
// registry_cache_purge: a DELETE forgets what the cache holds (purge_handler.cpp).
ngx_int_t ngx_http_registry_cache_purge_handler(ngx_http_request_t *r) noexcept;
// What a purge or an event names forgotten in each of `repositories` (as the store keeps
// them), blob body files included; false (logged, counted) when the store failed and nothing
// went (purge_handler.cpp).
bool ngx_http_registry_cache_forget(ngx_http_request_t *r, ngx_http_registry_cache_t *cache,
                                    const std::vector<std::string> &repositories,
                                    const registry_cache::PurgeTarget &target, registry_cache::PurgeCount &count);
// registry_cache_notifications: the registry's webhook events applied (notifications_handler.cpp).
ngx_int_t ngx_http_registry_cache_notifications_handler(ngx_http_request_t *r) noexcept;
ngx_int_t ngx_http_registry_cache_add_variables(ngx_conf_t *cf) noexcept;
