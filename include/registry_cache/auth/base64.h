// Base64 as tokens use it: the URL alphabet without padding for the parts of a JWS (RFC 7515),
// the standard alphabet with padding for certificates in `x5c`. Strict: any other byte, a
// wrong length, or unused bits that are not zero is an error, so that one text has one
// reading.
#pragma once

#include <string>
#include <string_view>

namespace registry_cache::auth {

enum class Base64 { url_unpadded, standard_padded };

bool base64_decode(std::string_view in, Base64 kind, std::string& out);
std::string base64_encode(std::string_view in, Base64 kind);

// RFC 4648 base32 without padding (libtrust's key IDs).
std::string base32_encode(std::string_view in);

}  // namespace registry_cache::auth
