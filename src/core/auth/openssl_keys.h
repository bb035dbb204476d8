// The OpenSSL side of token trust, shared by trust.cpp (loading keys and roots) and token.cpp
// (checking a token): private to the core.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "registry_cache/auth/json.h"
#include "registry_cache/auth/token.h"

namespace registry_cache::auth {

struct TokenTrust::Keys {
    X509_STORE* roots = nullptr;
    std::vector<std::pair<std::string, EVP_PKEY*>> by_id;  // key ID or kid → key (owned)

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
// `roots` at `now`; nullptr otherwise. The caller owns it.
EVP_PKEY* key_of_chain(X509_STORE* roots, const std::vector<std::string>& chain, std::int64_t now);

}  // namespace registry_cache::auth
