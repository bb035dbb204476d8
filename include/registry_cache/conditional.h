// Conditional requests against a blob's ETag, as distribution answers them (Go's
// http.ServeContent): If-Match compares strongly, If-None-Match weakly, both take lists and
// "*"; a blob has no modification time, so If-(Un)Modified-Since are ignored.
#pragma once

#include <optional>
#include <string_view>

namespace registry_cache {

enum class Precondition {
    proceed,       // answer 200
    not_modified,  // answer 304 (If-None-Match matched, GET or HEAD)
    failed         // answer 412 (If-Match did not match)
};

// `etag` is the quoted entity tag, e.g. "\"sha256:...\"". A header that is absent is nullopt.
Precondition evaluate_preconditions(std::optional<std::string_view> if_match,
                                    std::optional<std::string_view> if_none_match,
                                    std::string_view etag) noexcept;

}  // namespace registry_cache
