#include "registry_cache/auth/credential_memory.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <iterator>
#include <stdexcept>

namespace registry_cache::auth {

CredentialMemory::CredentialMemory() {
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
        throw std::runtime_error("no random bytes for the credential memory's key");
    }
}

std::string CredentialMemory::mac(std::string_view repository, std::string_view credential) const {
    // The repository's length first: no two (repository, credential) pairs hash one text.
    std::string text = std::to_string(repository.size());
    text += ':';
    text.append(repository);
    text.append(credential);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const bool ok = HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
                         reinterpret_cast<const unsigned char*>(text.data()), text.size(), out, &len) != nullptr;
    OPENSSL_cleanse(text.data(), text.size());
    if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(out), len);
}

bool CredentialMemory::proves(std::string_view repository, std::string_view credential, std::int64_t now) const {
    if (until_.empty() || credential.empty()) return false;
    const auto it = until_.find(mac(repository, credential));
    return it != until_.end() && now < it->second;
}

void CredentialMemory::remember(std::string_view repository, std::string_view credential, std::int64_t now,
                                std::int64_t ttl) {
    if (credential.empty() || ttl <= 0) return;
    std::string key = mac(repository, credential);
    if (until_.size() >= max_credentials && until_.find(key) == until_.end()) {
        for (auto it = until_.begin(); it != until_.end();) {
            it = it->second <= now ? until_.erase(it) : std::next(it);
        }
        if (until_.size() >= max_credentials) until_.clear();
    }
    until_[std::move(key)] = now + ttl;
}

}  // namespace registry_cache::auth
