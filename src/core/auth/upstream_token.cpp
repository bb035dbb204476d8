// Mirror mode's tokens (auth/upstream_token.h): the token service's answer and the table the
// workers share.
#include "registry_cache/auth/upstream_token.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "registry_cache/auth/json.h"
#include "registry_cache/rfc3339.h"

namespace registry_cache::auth {

namespace {

constexpr std::int64_t min_lifetime_s = 60;
constexpr std::int64_t max_margin_s = 60;

// What may stand in a header value as a token: the characters of a JWS (base64url and dots)
// and of RFC 6750's token68 (`+`, `/`, `~`, trailing `=`), no space, no control character.
bool printable_token(std::string_view token) noexcept {
    if (token.empty() || token.size() > max_token_size) return false;
    for (const char c : token) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
        if (!ok) return false;
    }
    return true;
}

std::uint64_t hash_of(std::string_view key) noexcept {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : key) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}

bool holds(const UpstreamTokenSlot& slot, std::uint64_t hash, std::string_view key) noexcept {
    return slot.hash == hash && std::string_view(slot.key, slot.key_size) == key;
}

const UpstreamTokenSlot* find(const UpstreamTokenTable& table, std::string_view key) noexcept {
    const std::uint64_t hash = hash_of(key);
    for (const UpstreamTokenSlot& slot : table.slots) {
        if (holds(slot, hash, key)) return &slot;
    }
    return nullptr;
}

UpstreamTokenSlot* find(UpstreamTokenTable& table, std::string_view key) noexcept {
    return const_cast<UpstreamTokenSlot*>(find(static_cast<const UpstreamTokenTable&>(table), key));
}

// The token service's own slot key: its part of `key` (before the NUL) with nothing after.
std::string_view service_of(std::string_view key) noexcept {
    const std::size_t nul = key.find('\0');
    return nul == std::string_view::npos ? key : key.substr(0, nul + 1);
}

// What a slot is worth keeping, lowest first: nothing (free, or everything in it ended), a
// scope's back-off, a token, a token service's back-off (losing it lets a failing service be
// asked once per request again); a fetch in progress is never given up.
int worth(const UpstreamTokenSlot& slot, std::int64_t now) noexcept {
    if (slot.hash == 0 || std::max(slot.usable_until, slot.failed_until) <= now) return 0;
    if (slot.token_size != 0 && now < slot.usable_until) return 2;
    const std::string_view key(slot.key, slot.key_size);
    return service_of(key) == key ? 3 : 1;
}

// A slot for `key`: its own, else the one worth least whose worth ends first; null when every
// slot is a fetch in progress (giving one up would let a flood of new names undo the
// one-fetch-per-scope promise).
UpstreamTokenSlot* slot_for(UpstreamTokenTable& table, std::string_view key, std::int64_t now) noexcept {
    if (UpstreamTokenSlot* own = find(table, key)) return own;
    UpstreamTokenSlot* best = nullptr;
    int best_worth = 0;
    std::int64_t best_end = 0;
    for (UpstreamTokenSlot& slot : table.slots) {
        if (slot.fetch_until > now) continue;
        const int w = worth(slot, now);
        const std::int64_t end = std::max(slot.usable_until, slot.failed_until);
        if (best == nullptr || w < best_worth || (w == best_worth && end < best_end)) {
            best = &slot;
            best_worth = w;
            best_end = end;
        }
        if (w == 0) break;
    }
    if (best == nullptr) return nullptr;
    *best = UpstreamTokenSlot{};
    best->hash = hash_of(key);
    best->key_size = static_cast<std::uint16_t>(key.size());
    std::memcpy(best->key, key.data(), key.size());
    return best;
}

}  // namespace

std::string pull_scope(std::string_view repository) {
    std::string scope = "repository:";
    scope.append(repository);
    scope += ":pull";
    return scope;
}

std::string upstream_token_key(std::string_view realm, std::string_view scope) {
    if (realm.size() + 1 + scope.size() > max_upstream_token_key) return {};
    std::string key(realm);
    key += '\0';
    key.append(scope);
    return key;
}

bool read_token_answer(std::string_view text, std::int64_t now, TokenAnswer& out, std::string& why) {
    out = TokenAnswer{};
    json::Value doc;
    if (!json::parse(text, doc, why)) return false;
    if (doc.type != json::Type::object) {
        why = "not a JSON object";
        return false;
    }
    const json::Value* token = doc.find("token");
    if (token == nullptr || (token->is_string() && token->text.empty())) token = doc.find("access_token");
    if (token == nullptr || !token->is_string()) {
        why = "no token";
        return false;
    }
    if (!printable_token(token->text)) {
        why = "a token that cannot be sent as a header (empty, too long, or with other characters)";
        return false;
    }
    std::int64_t expires_in = 0;
    if (const json::Value* v = doc.find("expires_in")) {
        if (!v->as_int64(expires_in)) {
            why = "expires_in is not an integer";
            return false;
        }
    }
    expires_in = std::clamp<std::int64_t>(expires_in, min_lifetime_s, INT32_MAX);
    std::int64_t issued = now;
    if (const json::Value* v = doc.find("issued_at")) {
        std::int64_t at = 0;
        if (v->is_string() && parse_rfc3339(v->text, at) && at < now) issued = at;
    }
    const std::int64_t margin = std::min(max_margin_s, expires_in / 5);
    out.token = token->text;
    out.usable_until = issued + expires_in - margin;
    return true;
}

bool held_token(const UpstreamTokenTable& table, std::string_view key, std::int64_t now, std::string& token) {
    const UpstreamTokenSlot* slot = find(table, key);
    if (slot == nullptr || slot->token_size == 0 || now >= slot->usable_until) return false;
    token.assign(slot->token, slot->token_size);
    return true;
}

TokenTurn token_turn(UpstreamTokenTable& table, std::string_view key, std::int64_t now, std::int64_t fetch_timeout,
                     std::string& token) {
    UpstreamTokenSlot* slot = find(table, key);
    if (slot != nullptr && slot->token_size != 0 && now < slot->usable_until) {
        token.assign(slot->token, slot->token_size);
        return TokenTurn::use;
    }
    if (slot != nullptr && now < slot->fetch_until) return TokenTurn::wait;
    if (slot != nullptr && now < slot->failed_until) return TokenTurn::without;
    const UpstreamTokenSlot* service = find(table, service_of(key));
    if (service != nullptr && now < service->failed_until) return TokenTurn::without;
    if (slot == nullptr) slot = slot_for(table, key, now);
    if (slot == nullptr) return TokenTurn::wait;
    slot->fetch_until = now + fetch_timeout;
    return TokenTurn::fetch;
}

void keep_token(UpstreamTokenTable& table, std::string_view key, std::string_view token, std::int64_t usable_until,
                std::int64_t now) noexcept {
    if (key.empty() || key.size() > max_upstream_token_key || token.size() > max_token_size) return;
    if (UpstreamTokenSlot* service = find(table, service_of(key)); service != nullptr && service != find(table, key)) {
        service->failed_until = 0;  // it answers again
    }
    UpstreamTokenSlot* slot = slot_for(table, key, now);
    if (slot == nullptr) return;
    slot->fetch_until = 0;
    slot->failed_until = 0;
    if (usable_until <= now) {
        slot->token_size = 0;
        slot->usable_until = 0;
        return;
    }
    std::memcpy(slot->token, token.data(), token.size());
    slot->token_size = static_cast<std::uint16_t>(token.size());
    slot->usable_until = usable_until;
}

void fetch_failed(UpstreamTokenTable& table, std::string_view key, std::int64_t now, std::int64_t backoff,
                  TokenFailure failure) noexcept {
    fetch_abandoned(table, key);
    if (backoff <= 0 || key.empty() || key.size() > max_upstream_token_key) return;
    const std::string_view whom = failure == TokenFailure::service ? service_of(key) : key;
    if (UpstreamTokenSlot* slot = slot_for(table, whom, now)) slot->failed_until = now + backoff;
}

void fetch_abandoned(UpstreamTokenTable& table, std::string_view key) noexcept {
    if (UpstreamTokenSlot* slot = find(table, key)) slot->fetch_until = 0;
}

bool forget_token(UpstreamTokenTable& table, std::string_view key, std::string_view token) noexcept {
    UpstreamTokenSlot* slot = find(table, key);
    if (slot == nullptr || std::string_view(slot->token, slot->token_size) != token) return false;
    slot->token_size = 0;
    slot->usable_until = 0;
    return true;
}

}  // namespace registry_cache::auth
