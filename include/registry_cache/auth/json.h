// A strict JSON reader (RFC 8259) for the small documents the edge must trust only after
// checking them: the header and claims of a Bearer token, a JWK set. No extensions: no
// comments, trailing commas, duplicate object keys, invalid UTF-8 or lone surrogates, and
// bounded nesting, so that a hostile token cannot make two readers disagree or a worker
// recurse without end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace registry_cache::json {

enum class Type { null, boolean, number, string, array, object };

struct Value {
    Type type = Type::null;
    bool boolean = false;
    std::string text;  // a string's value, or a number as written
    std::vector<Value> items;                              // an array's
    std::vector<std::pair<std::string, Value>> members;    // an object's, in document order

    // The member named `key` of an object; nullptr when absent or not an object.
    const Value* find(std::string_view key) const noexcept;
    bool is_string() const noexcept { return type == Type::string; }
    // A number that is an integer within int64 (as JWT's NumericDate is sent): false for
    // anything else, including fractions and exponents.
    bool as_int64(std::int64_t& out) const noexcept;
};

inline constexpr std::size_t max_depth = 32;
inline constexpr std::size_t max_members = 256;  // per object

// Parses `text` whole (whitespace around the value only). False, with `error` saying where
// and why, for anything that is not one well-formed JSON value.
bool parse(std::string_view text, Value& out, std::string& error);

}  // namespace registry_cache::json
