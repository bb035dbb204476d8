#include "registry_cache/oci_error.h"

namespace registry_cache {

OciError describe(OciErrorCode code) noexcept {
    // Codes and messages are distribution's (registry/api/v2/errors.go), so clients that
    // match on them behave as they do against the registry itself.
    switch (code) {
        case OciErrorCode::name_invalid:
            return {400, "NAME_INVALID", "invalid repository name"};
        case OciErrorCode::unavailable:
            return {503, "UNAVAILABLE", "service unavailable"};
        case OciErrorCode::unauthorized:
            return {401, "UNAUTHORIZED", "authentication required"};
        case OciErrorCode::digest_invalid:
            break;
    }
    return {400, "DIGEST_INVALID", "provided digest did not match uploaded content"};
}

OciErrorCode error_code_for(RouteError error) noexcept {
    return error == RouteError::name_invalid ? OciErrorCode::name_invalid
                                             : OciErrorCode::digest_invalid;
}

std::string_view error_detail_for(RouteError error) noexcept {
    if (error == RouteError::name_invalid) {
        return "repository name must match the OCI name grammar, at most 255 bytes";
    }
    return "digest must be algorithm:encoded; sha256, sha384 and sha512 need lowercase hex "
           "of 64, 96 and 128 characters";
}

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c >= 0x7f) {
                    // Bytes outside printable ASCII are escaped one by one, so the body stays
                    // valid JSON whatever a client put in the request.
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
}

std::string render_error_body(OciErrorCode code, std::string_view detail) {
    OciError e = describe(code);
    std::string body;
    body.reserve(64 + e.code.size() + e.message.size() + detail.size());
    body += R"({"errors":[{"code":")";
    body += e.code;
    body += R"(","message":")";
    append_json_escaped(body, e.message);
    body += R"(","detail":")";
    append_json_escaped(body, detail);
    body += "\"}]}\n";
    return body;
}

std::string render_error_body(OciErrorCode code) {
    OciError e = describe(code);
    std::string body = R"({"errors":[{"code":")";
    body += e.code;
    body += R"(","message":")";
    append_json_escaped(body, e.message);
    body += "\",\"detail\":null}]}\n";
    return body;
}

}  // namespace registry_cache
