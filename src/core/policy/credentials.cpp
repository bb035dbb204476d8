#include "registry_cache/policy/credentials.h"

namespace registry_cache {
namespace {

// True when every parameter of `query` is `ns` (with or without a value) or empty.
bool only_namespace(std::string_view query) noexcept {
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        std::string_view name = param.substr(0, param.find('='));
        if (!param.empty() && name != "ns") {
            return false;
        }
    }
    return true;
}

}  // namespace

bool carries_credentials(const RequestCredentials& request) noexcept {
    return request.authorization || request.proxy_authorization || request.cookie ||
           request.client_certificate || !only_namespace(request.query);
}

}  // namespace registry_cache
