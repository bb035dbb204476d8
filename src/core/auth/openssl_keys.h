// The OpenSSL side of token trust, shared by trust.cpp (loading keys and roots) and token.cpp
// (checking a token): private to the core.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "registry_cache/auth/json.h"
#include "registry_cache/auth/token.h"

namespace registry_cache::auth {

// An `x5c` chain that verified: its leaf's key, and when every certificate of the chain
// (up to the root) is valid, so that the chain is not verified again for each new token
// that carries it (a token server signs every token with the same chain).
struct VerifiedChain {
    EVP_PKEY* key = nullptr;  // owned
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
};

struct TokenTrust::Keys {
    X509_STORE* roots = nullptr;
    std::vector<std::pair<std::string, EVP_PKEY*>> by_id;  // key ID or kid → key (owned)
    // By the chain's text as the token carried it; bounded (cleared when full). Mutable
    // state of a const trust: each nginx worker has its own copy, used by one thread.
    std::unordered_map<std::string, VerifiedChain> chains;
    static constexpr std::size_t max_chains = 64;

    Keys();
    ~Keys();
    Keys(const Keys&) = delete;
    Keys& operator=(const Keys&) = delete;

    EVP_PKEY* find(const std::string& id) const noexcept;
    bool trusts(EVP_PKEY* key) const noexcept;  // one of by_id, compared as keys
};

// A public key from a JWK (RSA, EC P-256/384/521, OKP Ed25519/Ed448); nullptr when the JWK is
// not one of those or is malformed. The caller owns it.
EVP_PKEY* key_from_jwk(const json::Value& jwk);

// libtrust key ID of a key; empty on failure.
std::string key_id_of(EVP_PKEY* key);

// The leaf's public key when the DER certificates `chain` (leaf first) verify to one of
// `roots` at `now`, with the window in which every certificate of the verified chain is
// valid; key nullptr otherwise. The caller owns the key.
VerifiedChain verify_chain(X509_STORE* roots, const std::vector<std::string>& chain, std::int64_t now);

}  // namespace registry_cache::auth
