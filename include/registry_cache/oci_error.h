// The registry's error responses: status and `{"errors":[{code,message,detail}]}` body.
#pragma once

#include <string>
#include <string_view>

#include "registry_cache/route.h"

namespace registry_cache {

enum class OciErrorCode { name_invalid, digest_invalid, unavailable, unauthorized };

struct OciError {
    int status;                // HTTP status distribution uses for this code
    std::string_view code;     // e.g. "NAME_INVALID"
    std::string_view message;  // distribution's message for the code
};

OciError describe(OciErrorCode code) noexcept;

// The error a route that parse_route() refused is answered with, and why, in words.
OciErrorCode error_code_for(RouteError error) noexcept;
std::string_view error_detail_for(RouteError error) noexcept;

// Renders the JSON body; `detail` is free text, escaped here.
std::string render_error_body(OciErrorCode code, std::string_view detail);
// The same with `"detail":null`, as distribution answers a ping that needs a token.
std::string render_error_body(OciErrorCode code);

// Appends `text` as the contents of a JSON string (without quotes) to `out`.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace registry_cache
