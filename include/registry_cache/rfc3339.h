// Times as registries write them: RFC 3339 date-times ("2006-01-02T15:04:05.999999999Z07:00"),
// as in a token service's `issued_at` and a notification event's `timestamp`.
#pragma once

#include <cstdint>
#include <string_view>

namespace registry_cache {

// Seconds since the epoch of `text` and, when asked, its fraction in nanoseconds (digits past
// the ninth are cut); `Z` or an offset. False when it is not one, or names a day that does not
// exist.
bool parse_rfc3339(std::string_view text, std::int64_t& seconds, std::int32_t* nanoseconds = nullptr) noexcept;

}  // namespace registry_cache
