// The worker's memory of checked Bearer tokens (auth/token_memory.h).
#include "registry_cache/auth/token_memory.h"

#include <iterator>
#include <utility>

namespace registry_cache::auth {

namespace {

std::string_view signature_of(std::string_view token) noexcept {
    const std::size_t dot = token.rfind('.');
    return dot == std::string_view::npos ? token : token.substr(dot + 1);
}

}  // namespace

const CheckedToken* TokenMemory::find(std::string_view token, std::int64_t now) noexcept {
    if (last_ != nullptr && last_->token == token && now <= last_->checked.usable_until) return &last_->checked;
    const std::string_view signature = signature_of(token);
    try {
        key_.assign(signature.data(), signature.size());
    } catch (...) {
        return nullptr;  // out of memory: not found, the token is checked again
    }
    auto it = tokens_.find(key_);
    if (it == tokens_.end() || it->second.token != token || now > it->second.checked.usable_until) return nullptr;
    last_ = &it->second;
    return &it->second.checked;
}

void TokenMemory::forget_unusable(std::int64_t now) noexcept {
    last_ = nullptr;
    for (auto it = tokens_.begin(); it != tokens_.end();) {
        it = now > it->second.checked.usable_until ? tokens_.erase(it) : std::next(it);
    }
    if (tokens_.size() >= max_tokens) tokens_.clear();
}

const CheckedToken& TokenMemory::remember(std::string_view token, CheckedToken checked, std::int64_t now) {
    if (tokens_.size() >= max_tokens) forget_unusable(now);
    std::string signature(signature_of(token));
    Entry entry{std::string(token), std::move(checked)};
    last_ = nullptr;  // (an entry replaced below may be the last one)
    Entry& slot = tokens_[std::move(signature)];  // (references stay valid across rehashing)
    slot = std::move(entry);
    last_ = &slot;
    return slot.checked;
}

TokenVerdict check_remembered(std::string_view token, const TokenTrust& trust, std::int64_t now,
                              const CheckedToken*& out) {
    out = trust.token_memory().find(token, now);
    if (out != nullptr) return TokenVerdict::valid;
    CheckedToken checked;
    const TokenVerdict verdict = check_token(token, trust, now, checked);
    if (verdict == TokenVerdict::valid) out = &trust.token_memory().remember(token, std::move(checked), now);
    return verdict;
}

}  // namespace registry_cache::auth
