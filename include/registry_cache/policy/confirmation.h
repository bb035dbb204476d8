// What an upstream's answer says of an object the cache holds by digest, when it is asked
// again (a link past registry_cache_link_ttl, a tag past its TTL), and of redirects: the
// registries that keep blobs in object storage or behind a CDN (Docker Hub, S3 or GCS
// backends) answer a blob's GET and HEAD with a redirect there, after they checked that the
// repository holds the blob and the client may have it.
#pragma once

#include <string_view>

namespace registry_cache {

// A redirect to the object elsewhere: 301, 302, 303, 307 or 308.
bool is_redirect(int status) noexcept;

// Whether the upstream's answer to a HEAD of what the cache holds (`held`, a digest) confirms
// it. A manifest or a tag: a 200 naming that digest. A blob (named by its digest in the URL):
// that too, or a 200 naming none (its storage answering, where the registry's redirect was
// followed), or a temporary redirect not followed (302, 303, 307: the registry sends the
// client to where it keeps the blob). Never a 200 naming another digest.
bool confirms_held(bool blob, int status, std::string_view answered_digest, std::string_view held) noexcept;

}  // namespace registry_cache
