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

// The answer to a HEAD of what the cache holds, as the revalidation saw it.
struct HeadAnswer {
    int status = 0;
    std::string_view digest;      // its Docker-Content-Digest; empty: none
    long long content_length = -1;  // -1: none
    bool after_redirect = false;  // it came where an upstream's redirect was followed
};

// Whether the upstream's answer to a HEAD of what the cache holds (`held`, a digest, of
// `held_size` bytes) confirms it. A manifest or a tag: a 200 naming that digest. A blob (named
// by its digest in the URL): that too, or, where the registry's redirect was followed, the
// 200 of what it pointed to naming no digest but the blob's length (its storage: a login page
// a registry sends a session that ran out to, or a registry's 200 to anything, is no blob).
// Never a redirect not followed (it says where to look, not what is there), nor a 200 naming
// another digest.
bool confirms_held(bool blob, const HeadAnswer &answer, std::string_view held, long long held_size) noexcept;

}  // namespace registry_cache
