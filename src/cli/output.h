// What registry-cache prints: one JSON document on stdout (--json), or lines for a person; and
// how a stored repository name, a time and a scope read in either.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"

namespace registry_cache::cli {

// A JSON document built in order: the caller opens and closes objects and arrays; commas
// are the writer's to place.
class Json {
public:
    Json& open_object(std::string_view key = {});
    Json& close_object();
    Json& open_array(std::string_view key = {});
    Json& close_array();
    Json& field(std::string_view key, std::string_view value);
    Json& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
    Json& field(std::string_view key, std::uint64_t value);
    Json& field(std::string_view key, bool value);
    Json& null_field(std::string_view key);
    const std::string& text() const noexcept { return out_; }

private:
    void key(std::string_view key);
    std::string out_;
    bool first_ = true;
};

// A string as JSON quotes it (control bytes and non-ASCII escaped byte by byte as \u00XX).
std::string json_quote(std::string_view text);

// A repository as the store keeps it, for a person: `name`, `ns=<namespace> name`, or with the
// Host the edge forwarded `[ns=<namespace>] host=<host> name` (the --namespace and --host
// that name it).
std::string readable_repository(std::string_view stored);
// Its parts: false for bytes that are no stored name.
bool repository_parts(std::string_view stored, std::string_view& ns, std::string_view& name) noexcept;

// Unix seconds as RFC 3339 UTC ("2024-05-01T12:00:00Z").
std::string rfc3339(std::uint64_t seconds);

const char* scope_name(LinkScope scope) noexcept;

}  // namespace registry_cache::cli
