// Basic credentials the upstream accepted for a repository (registry_cache_credential_ttl),
// remembered for a while so that the next requests with the same credential are served from
// the cache. Never the credential itself: a keyed hash of the repository and the credential,
// under a key this memory made at its start and never shows, so that the memory (a core dump,
// a debugger) holds nothing that proves anything anywhere else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace registry_cache::auth {

class CredentialMemory {
public:
    static constexpr std::size_t max_credentials = 4096;

    // Makes the key from OpenSSL's random generator; throws std::runtime_error when it
    // cannot (nothing would then be safe to remember).
    CredentialMemory();

    // Whether the upstream accepted `credential` for `repository` and that was remembered
    // until after `now`.
    bool proves(std::string_view repository, std::string_view credential, std::int64_t now) const;
    // Remembers that the upstream accepted `credential` for `repository` at `now`, for `ttl`
    // seconds; at the bound the expired go, and if that is not enough, all do. May throw
    // std::bad_alloc.
    void remember(std::string_view repository, std::string_view credential, std::int64_t now, std::int64_t ttl);
    std::size_t size() const noexcept { return until_.size(); }

private:
    std::array<unsigned char, 32> key_{};
    std::unordered_map<std::string, std::int64_t> until_;  // by keyed hash

    std::string mac(std::string_view repository, std::string_view credential) const;
};

}  // namespace registry_cache::auth
