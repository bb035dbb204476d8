// The pieces every stored record is made of (link records, tag records), so that each is
// written and judged one way: integers little endian byte by byte, the scope byte, and the
// media type that ends a record (a code of the known table, or 0, a length and the text).
// Private to the core.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"

namespace registry_cache::record_bytes {

void put_u64(std::string& out, std::uint64_t v);
// Assembled byte by byte: records come from an mmap at any alignment and from files written
// on any host, so neither a struct copy nor host byte order can be trusted.
std::uint64_t get_u64(const unsigned char* p) noexcept;

// False for a byte that names no scope: it must not be guessed into "public".
bool scope_of(unsigned char byte, LinkScope& scope) noexcept;

void put_media_type(std::string& out, const MediaType& media_type);
// The media type that takes the rest of `bytes` from `at`: ok with `text` a valid media type
// (from the table, or judged), damaged, or unknown_version (a code of a longer table).
DecodeStatus media_type_tail(std::string_view bytes, std::size_t at, std::string_view& text) noexcept;

}  // namespace registry_cache::record_bytes
