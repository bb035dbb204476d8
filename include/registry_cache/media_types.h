// The media types registries answer with most often, each named by one byte in a stored
// record instead of its text: a record of the common case is then 20 bytes, not 60, so more
// of them share a page of the map and a lookup touches fewer pages.
#pragma once

#include <cstdint>
#include <string_view>

namespace registry_cache {

// 0 when `text` is not in the table, else its code. Exact bytes only: a type that differs
// in case or parameters keeps its own text, so a hit echoes what the upstream said.
std::uint8_t known_media_type_code(std::string_view text) noexcept;

// The text of a code; empty for 0 and for a code this build does not know.
std::string_view known_media_type(std::uint8_t code) noexcept;

}  // namespace registry_cache
