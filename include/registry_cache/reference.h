// Repository names and tags, as the OCI distribution spec defines them.
#pragma once

#include <cstddef>
#include <string_view>

namespace registry_cache {

// A repository name is at most this many bytes (distribution's NameTotalLengthMax).
inline constexpr std::size_t max_name_length = 255;
// A tag is at most this many bytes: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
inline constexpr std::size_t max_tag_length = 128;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 bytes.
bool is_valid_name(std::string_view name) noexcept;

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool is_valid_tag(std::string_view tag) noexcept;

}  // namespace registry_cache
