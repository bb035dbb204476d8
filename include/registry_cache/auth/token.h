// Bearer tokens of the registry token protocol (a JWS in compact form, as distribution's
// token server issues them), checked the way distribution's registry checks them
// (registry/auth/token): the signing key comes from an `x5c` chain that ends at a trusted
// root, or is a trusted key named by `kid` or given as `jwk`; the algorithm is one of the
// asymmetric JWA algorithms and fits the key (never `none`, never an HMAC); the issuer is the
// trusted one, the audience names the service, and `exp`/`nbf` hold with a leeway. What the
// token grants (`access`) is read only once all of that held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace registry_cache::auth {

inline constexpr std::int64_t token_leeway_seconds = 60;
inline constexpr std::size_t max_token_size = 8192;

// The roots and keys an edge trusts, loaded once (at configuration) from files.
class TokenMemory;  // auth/token_memory.h

class TokenTrust {
public:
    TokenTrust();
    ~TokenTrust();
    TokenTrust(const TokenTrust&) = delete;
    TokenTrust& operator=(const TokenTrust&) = delete;

    // `bundle`: PEM certificates, the roots of `x5c` chains, whose keys are trusted by their
    // libtrust key IDs too (as distribution trusts them); `jwks` (may be empty): a JWK set
    // whose keys are trusted by their `kid` and key ID. False, with `error`, when a file
    // cannot be read or holds nothing usable.
    bool load(const std::string& bundle, const std::string& jwks, std::string issuer, std::string service,
              std::string& error);

    const std::string& issuer() const noexcept { return issuer_; }
    const std::string& service() const noexcept { return service_; }

    struct Keys;  // OpenSSL objects, kept out of this header (src/core/auth/trust.cpp)
    const Keys& keys() const noexcept { return *keys_; }
    // The same, with the memory of the `x5c` chains already verified, which checking a token
    // adds to: per process, for one thread (each nginx worker has its own).
    Keys& chain_memory() const noexcept { return *keys_; }
    // The tokens checked valid against this trust (auth/token_memory.h): per process, for one
    // thread, as the chains. Owned by the trust, so that no other trust (a reload's, at the
    // same address) can inherit them.
    TokenMemory& token_memory() const noexcept { return *memory_; }

private:
    std::unique_ptr<Keys> keys_;
    std::unique_ptr<TokenMemory> memory_;
    std::string issuer_;
    std::string service_;
};

struct Grant {
    std::string type;  // "repository", "registry"...
    std::string name;
    std::vector<std::string> actions;
};

struct CheckedToken {
    std::int64_t expires_at = 0;  // `exp`, unix seconds
    // The last second at which the token still proves something: `exp` with the leeway, and
    // never past the end of its `x5c` chain's certificates (a token remembered must not
    // outlive the certificate that signed it).
    std::int64_t usable_until = 0;
    std::string subject;
    std::vector<Grant> access;

    // Whether an `access` entry grants `pull` (or `*`) on repository `name`.
    bool may_pull(std::string_view name) const noexcept;
};

enum class TokenVerdict {
    valid,
    malformed,              // not a compact JWS with JSON header and claims of the right shapes
    unsupported_algorithm,  // none, HS*, unknown, or not fitting the key
    untrusted_key,          // no chain to a root, or a key not trusted
    bad_signature,
    wrong_issuer,
    wrong_audience,
    expired,
    not_yet_valid
};
std::string_view verdict_text(TokenVerdict v) noexcept;

// Checks `token` at `now` (unix seconds); on `valid`, `out` holds what it says.
TokenVerdict check_token(std::string_view token, const TokenTrust& trust, std::int64_t now, CheckedToken& out);

// libtrust's key ID of a DER SubjectPublicKeyInfo: base32 of the first 240 bits of its
// SHA-256, in twelve groups of four joined by ':' (what distribution's tokens name in `kid`).
std::string libtrust_key_id(std::string_view spki_der);

}  // namespace registry_cache::auth
