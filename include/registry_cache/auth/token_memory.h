// The Bearer tokens a worker checked valid, remembered until they stop proving anything
// (CheckedToken::usable_until), so that the requests of a pull, which all carry the same
// token, pay one signature check between them. One memory per TokenTrust (it owns it): a
// token proven against one trust never answers for another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry_cache/auth/token.h"

namespace registry_cache::auth {

class TokenMemory {
public:
    static constexpr std::size_t max_tokens = 1024;

    // The checked token, if `token` (compared whole) was remembered and is usable at `now`.
    const CheckedToken* find(std::string_view token, std::int64_t now) noexcept;
    // Remembers a token checked valid; at the bound the unusable go, and if that is not
    // enough, all do. May throw std::bad_alloc (then nothing is remembered).
    const CheckedToken& remember(std::string_view token, CheckedToken checked, std::int64_t now);
    std::size_t size() const noexcept { return tokens_.size(); }

private:
    struct Entry {
        std::string token;
        CheckedToken checked;
    };
    // By signature (the part that differs between any two tokens, and the shortest to hash),
    // each compared whole before use: a reused signature can only cost a lookup, never lend
    // one token's grants to another.
    std::unordered_map<std::string, Entry> tokens_;
    // The last token found or remembered: the requests of a pull send the same one, and then
    // it costs one comparison, no hashing.
    const Entry* last_ = nullptr;
    std::string key_;  // reused for lookups, which then allocate nothing once it has grown

    void forget_unusable(std::int64_t now) noexcept;
};

// The verdict on `token` at `now`: from the trust's memory when this process checked the same
// token before and it is still usable, else checked (check_token) and remembered if valid.
// On `valid`, `out` points into the memory (until the next call). May throw std::bad_alloc.
TokenVerdict check_remembered(std::string_view token, const TokenTrust& trust, std::int64_t now,
                              const CheckedToken*& out);

}  // namespace registry_cache::auth
