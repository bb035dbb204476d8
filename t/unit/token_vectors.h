// The token vectors of t/unit/vectors (made by make-tokens.sh with OpenSSL's command line),
// read once: the tokens by name, the time they were made for, the issuer and service they
// name. Shared by the token unit tests and bench/token_benchmark.cpp.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include "registry_cache/auth/token.h"

struct TokenVectors {
    std::string dir = TOKEN_VECTORS_DIR;
    std::map<std::string, std::string> tokens;
    std::int64_t now = 0;
    std::string issuer, service;

    TokenVectors() {
        std::ifstream in(dir + "/tokens.txt");
        std::string name, token;
        while (in >> name >> token) tokens[name] = token;
        std::ifstream(dir + "/now.txt") >> now;
        std::ifstream(dir + "/issuer-service.txt") >> issuer >> service;
    }

    // `trust` loaded with the vectors' roots (and their JWKS when `with_jwks`); false with
    // `error` said when it cannot be.
    bool load(registry_cache::auth::TokenTrust& trust, std::string& error, bool with_jwks = false) const {
        return trust.load(dir + "/roots.pem", with_jwks ? dir + "/jwks.json" : "", issuer, service, error);
    }
};
