// Mirror mode (registry_cache_upstream_auth): the edge holds the upstream's credentials and
// fetches Bearer tokens itself, one per scope (`repository:<name>:pull`), from the token
// service the operator configured. This is what decides about them without nginx: reading the
// token service's answer, and the table of tokens every worker shares (plain data in the
// cache's shared zone; callers hold the zone's lock around every call on it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/auth/token.h"

namespace registry_cache::auth {

// The scope a pull of `repository` needs (distribution's resource scope grammar).
std::string pull_scope(std::string_view repository);

// What keys a token: where it came from (the token location's URI, with the service in its
// query) and its scope; empty when longer than a slot holds.
inline constexpr std::size_t max_upstream_token_key = 512;
std::string upstream_token_key(std::string_view realm, std::string_view scope);

// A token service's answer to `GET <realm>?service=...&scope=...`.
struct TokenAnswer {
    std::string token;              // `token`, else `access_token`
    std::int64_t usable_until = 0;  // when the edge stops sending it (see read_token_answer)
};

// Reads the token service's JSON answer received at `now`: the token (`token`, or
// `access_token` when that is absent, as distribution's client reads it), which must be
// printable without spaces (it becomes a header value) and at most max_token_size; its life
// from `issued_at` (RFC 3339; `now` when absent, unreadable or later than now) plus
// `expires_in` (at least 60 s, as distribution's client takes it), less a margin of a fifth
// of that life, at most a minute, so that a token is never sent in its last seconds.
bool read_token_answer(std::string_view json, std::int64_t now, TokenAnswer& out, std::string& why);

inline constexpr std::size_t upstream_token_slots = 32;

struct UpstreamTokenSlot {
    std::uint64_t hash;          // of the key; 0: a free slot
    std::int64_t usable_until;   // the token's end; 0: no token
    std::int64_t fetch_until;    // a worker fetches one until then; 0: nobody does
    std::int64_t failed_until;   // nobody asks the scope (a token service's own slot: any of
                                 // its scopes) until then
    std::uint16_t key_size;
    std::uint16_t token_size;
    char key[max_upstream_token_key];
    char token[max_token_size];
};

struct UpstreamTokenTable {
    UpstreamTokenSlot slots[upstream_token_slots];
};

enum class TokenTurn {
    use,      // a token is held: `token` has it
    fetch,    // nobody fetches one: the caller does, and then keeps it or says it failed
    wait,     // another request fetches one (or every slot is another's fetch): look again later
    without   // the token service failed lately: go without a token, do not ask it again yet
};

// What a request that needs the token of `key` does at `now`. A caller told to fetch holds
// the key's fetch until `now + fetch_timeout` (one token request per key across workers); a
// fetch that never ends frees it then. A full table gives up a slot that has ended, else a
// scope's back-off, else the token that ends first, else a service's back-off: never another's
// fetch in progress.
TokenTurn token_turn(UpstreamTokenTable& table, std::string_view key, std::int64_t now, std::int64_t fetch_timeout,
                     std::string& token);
// The token held for `key` at `now`, without claiming anything; false when none is.
bool held_token(const UpstreamTokenTable& table, std::string_view key, std::int64_t now, std::string& token);
// A fetched token, kept for everyone until its end (when it ends later than now).
void keep_token(UpstreamTokenTable& table, std::string_view key, std::string_view token, std::int64_t usable_until,
                std::int64_t now) noexcept;
// Whom a failed token request says something about: the token service (no answer, a 5xx: it
// is down for every scope) or the scope alone (a 4xx, an answer without a usable token: a
// service that refuses one repository still serves the others).
enum class TokenFailure { service, scope };
// A fetch that brought no token: the key is free, and it (or, for a failure of the service,
// every scope of its token service) is not asked for again before `now + backoff`, so that a
// failing service is not asked once per request.
void fetch_failed(UpstreamTokenTable& table, std::string_view key, std::int64_t now, std::int64_t backoff,
                  TokenFailure failure = TokenFailure::service) noexcept;
// A fetch that ended with its client gone: the key is free to be fetched again at once.
void fetch_abandoned(UpstreamTokenTable& table, std::string_view key) noexcept;
// The upstream said the token is invalid: it goes, unless another already replaced it.
bool forget_token(UpstreamTokenTable& table, std::string_view key, std::string_view token) noexcept;

}  // namespace registry_cache::auth
