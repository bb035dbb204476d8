// What the upstream taught, on its way to the store: batched and committed once per event
// loop turn (writer.cpp), with the store's failures logged at most once a second.
#pragma once

#include "process/process.h"
#include "state/request.h"

#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"
#include "registry_cache/learn.h"
#include "registry_cache/store.h"

// Queues what an upstream answer taught, unless nothing or nothing may be recorded (a
// manifest's record carries its verified `body`). Running out of memory costs the record
// (counted as an error), never the response.
void ngx_http_registry_cache_teach(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                   registry_cache::Lesson lesson,
                                   const registry_cache::BlobDescriptor &descriptor,
                                   std::string_view body = {}) noexcept;

// Queues what an answer about a tag taught (its record, or forgetting it).
void ngx_http_registry_cache_teach_tag(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                       registry_cache::Lesson lesson,
                                       const registry_cache::TagRecord &tag) noexcept;

// Queues what a verified GET by tag taught: the manifest, by the digest its bytes hashed to,
// with its body, and the tag naming it.
void ngx_http_registry_cache_teach_tagged_manifest(ngx_http_request_t *r,
                                                   ngx_http_registry_cache_request_t &state,
                                                   std::string_view digest,
                                                   const registry_cache::BlobDescriptor &descriptor,
                                                   std::string_view body) noexcept;

// Queues what a push through the edge taught (registry_cache::learn_push): the blob's link in
// the pushed repository, with the size and type of what the edge already holds of the digest
// (the body it keeps, or the link of the mount's source in the same namespace). False when it
// holds neither: then only the upstream can say (upstream/pushed_blob.cpp).
bool ngx_http_registry_cache_teach_pushed(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                         const registry_cache::PushedBlob &pushed) noexcept;

// Queues a pushed blob's link in the request's repository, of `descriptor`'s size and type.
void ngx_http_registry_cache_teach_pushed_link(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                              std::string_view digest,
                                              const registry_cache::BlobDescriptor &descriptor) noexcept;

// Queues a manifest by `digest`, with its verified `body`, in the request's repository.
void ngx_http_registry_cache_teach_manifest(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                           std::string_view digest, const registry_cache::BlobDescriptor &descriptor,
                                           std::string_view body) noexcept;

// Queues the upstream's answer to an anonymous ping asked by `host`, unless the store holds the same one
// (clients ping at every pull: an unchanged answer costs a read, never a write).
void ngx_http_registry_cache_teach_ping(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                        std::string_view host, registry_cache::PingRecord &&ping) noexcept;

// Queues the record of a blob body that was verified and published to the store's disk
// (counted when queued, when `stored`: the file is there whatever becomes of the record), or
// renews the time of one served again.
void ngx_http_registry_cache_teach_body(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                        std::string_view digest, std::uint64_t size, bool stored = true) noexcept;

// Forgets a blob body: its file goes now, its record with the next commit (a file that is
// not what its record says must not answer again). Costs nothing but the record when memory
// runs out.
void ngx_http_registry_cache_forget_body(ngx_http_registry_cache_t *cache, std::string_view digest,
                                         ngx_log_t *log) noexcept;

// Queues one write. A `flight` (key other than 0) is landed once the write commits.
void ngx_http_registry_cache_enqueue(ngx_http_registry_cache_t *cache,
                                     registry_cache::StoreWrite &&write, registry_cache::FlightLead flight,
                                     ngx_log_t *log) noexcept;

// Commits what is queued for `cache` now.
void ngx_http_registry_cache_flush(ngx_http_registry_cache_t *cache, ngx_log_t *log) noexcept;

// Logs a store failure at most once a second per cache: it can repeat on every request.
void ngx_http_registry_cache_log_store_error(ngx_http_registry_cache_t *cache, ngx_log_t *log,
                                             const char *what, const std::string &error) noexcept;
