// Any bytes as a Bearer token and as JSON: neither the token checker nor the JSON reader may
// crash, leak or hang; a token of these bytes is never valid unless it is one of the signed
// vectors it started from (t/unit/vectors), unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "registry_cache/auth/json.h"
#include "registry_cache/auth/token.h"

using namespace registry_cache;

namespace {

struct Setup {
    auth::TokenTrust trust;
    std::int64_t now = 0;
    std::set<std::string> signed_tokens;
    Setup() {
        const std::string dir = TOKEN_VECTORS_DIR;
        std::string issuer, service, error, name, token;
        std::ifstream(dir + "/now.txt") >> now;
        std::ifstream(dir + "/issuer-service.txt") >> issuer >> service;
        if (!trust.load(dir + "/roots.pem", dir + "/jwks.json", issuer, service, error)) std::abort();
        std::ifstream in(dir + "/tokens.txt");
        while (in >> name >> token) signed_tokens.insert(token);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Setup setup;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    json::Value value;
    std::string error;
    (void) json::parse(input, value, error);
    auth::CheckedToken checked;
    if (auth::check_token(input, setup.trust, setup.now, checked) == auth::TokenVerdict::valid &&
        setup.signed_tokens.count(std::string(input)) == 0) {
        std::abort();  // a signature that held over bytes nobody signed
    }
    return 0;
}
