// Checking a Bearer token (auth/token.h): its form, its key, its signature, then its claims.
#include "openssl_keys.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <climits>

#include "registry_cache/auth/base64.h"

namespace registry_cache::auth {

namespace {

enum class Family { rsa_pkcs1, rsa_pss, ecdsa, eddsa };

struct Algorithm {
    std::string_view name;
    Family family;
    const EVP_MD* (*md)();  // nullptr for EdDSA
    int curve;              // ECDSA's NID
    std::size_t half;       // bytes of R and of S in an ECDSA signature
};

const Algorithm* algorithm_named(std::string_view name) noexcept {
    static const Algorithm all[] = {
        {"RS256", Family::rsa_pkcs1, EVP_sha256, 0, 0},
        {"RS384", Family::rsa_pkcs1, EVP_sha384, 0, 0},
        {"RS512", Family::rsa_pkcs1, EVP_sha512, 0, 0},
        {"PS256", Family::rsa_pss, EVP_sha256, 0, 0},
        {"PS384", Family::rsa_pss, EVP_sha384, 0, 0},
        {"PS512", Family::rsa_pss, EVP_sha512, 0, 0},
        {"ES256", Family::ecdsa, EVP_sha256, NID_X9_62_prime256v1, 32},
        {"ES384", Family::ecdsa, EVP_sha384, NID_secp384r1, 48},
        {"ES512", Family::ecdsa, EVP_sha512, NID_secp521r1, 66},
        {"EdDSA", Family::eddsa, nullptr, 0, 0},
    };
    for (const Algorithm& a : all) {
        if (a.name == name) return &a;
    }
    return nullptr;  // none, HS256..., anything else
}

constexpr int min_rsa_bits = 2048;

// Whether `key` is of the kind `alg` signs with (an RSA key for RS*/PS*, the curve of ES*,
// an Edwards key for EdDSA).
bool fits(const Algorithm& alg, EVP_PKEY* key) {
    switch (alg.family) {
        case Family::rsa_pkcs1:
        case Family::rsa_pss: return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= min_rsa_bits;
        case Family::ecdsa: {
            if (!EVP_PKEY_is_a(key, "EC")) return false;
            char group[64];
            std::size_t len = 0;
            if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len) != 1) return false;
            return OBJ_sn2nid(group) == alg.curve || OBJ_txt2nid(group) == alg.curve;
        }
        // Ed25519 only, as distribution's JOSE library: an Ed448 token would be refused there.
        case Family::eddsa: return EVP_PKEY_is_a(key, "ED25519");
    }
    return false;
}

// JWS's raw R‖S as the DER ECDSA-Sig-Value OpenSSL verifies; empty when of the wrong size.
std::string ecdsa_der(std::string_view raw, std::size_t half) {
    if (raw.size() != 2 * half) return {};
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    BIGNUM* r = BN_bin2bn(p, static_cast<int>(half), nullptr);
    BIGNUM* s = BN_bin2bn(p + half, static_cast<int>(half), nullptr);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    std::string out;
    if (r != nullptr && s != nullptr && sig != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = nullptr;  // owned by sig now
        unsigned char* der = nullptr;
        const int size = i2d_ECDSA_SIG(sig, &der);
        if (size > 0) out.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(size));
        OPENSSL_free(der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return out;
}

bool signature_holds(const Algorithm& alg, EVP_PKEY* key, std::string_view input, std::string_view signature) {
    std::string der;
    if (alg.family == Family::ecdsa) {
        der = ecdsa_der(signature, alg.half);
        if (der.empty()) return false;
        signature = der;
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, alg.md != nullptr ? alg.md() : nullptr, nullptr, key) == 1;
    if (ok && alg.family == Family::rsa_pss) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
    ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

// The leaf key of an `x5c` chain that verifies to a root at `now` (the caller frees it), and
// in `until` the end of the chain's window; a chain verified before, and valid still, is not
// verified again.
EVP_PKEY* key_of_x5c(const json::Value& x5c, TokenTrust::Keys& keys, std::int64_t now, std::int64_t& until,
                     bool& malformed) {
    constexpr std::size_t max_chain = 8;
    if (x5c.type != json::Type::array || x5c.items.empty() || x5c.items.size() > max_chain) {
        malformed = true;
        return nullptr;
    }
    std::string text;  // the chain as the token carried it: the memory's key
    for (const json::Value& cert : x5c.items) {
        if (!cert.is_string()) {
            malformed = true;
            return nullptr;
        }
        text += cert.text;
        text += ',';
    }
    auto known = keys.chains.find(text);
    if (known != keys.chains.end() && known->second.not_before <= now && now <= known->second.not_after) {
        EVP_PKEY* key = known->second.key;
        until = known->second.not_after;
        return EVP_PKEY_up_ref(key) == 1 ? key : nullptr;
    }
    std::vector<std::string> chain;
    for (const json::Value& cert : x5c.items) {
        std::string der;
        if (!base64_decode(cert.text, Base64::standard_padded, der)) {
            malformed = true;
            return nullptr;
        }
        chain.push_back(std::move(der));
    }
    VerifiedChain verified = verify_chain(keys.roots, chain, now);
    if (verified.key == nullptr) return nullptr;
    until = verified.not_after;
    // The entry out of its window goes first: clearing below would leave `known` dangling.
    if (known != keys.chains.end()) {
        EVP_PKEY_free(known->second.key);
        keys.chains.erase(known);
    }
    if (keys.chains.size() >= TokenTrust::Keys::max_chains) {
        for (auto& c : keys.chains) EVP_PKEY_free(c.second.key);
        keys.chains.clear();
    }
    if (EVP_PKEY_up_ref(verified.key) == 1) {
        try {
            keys.chains.emplace(std::move(text), verified);  // (a reference of its own)
        } catch (...) {
            EVP_PKEY_free(verified.key);  // not remembered: only the caller's reference is left
        }
    }
    return verified.key;
}

// The signing key the header names, if trusted (the caller frees it): an `x5c` chain to a
// root, else a `jwk` that is a trusted key, else a trusted `kid`; `until`: when the key stops
// being trusted (a chain's end; never, for a key of the trust itself).
EVP_PKEY* signing_key(const json::Value& header, TokenTrust::Keys& keys, std::int64_t now, std::int64_t& until,
                      bool& malformed) {
    malformed = false;
    until = INT64_MAX;
    if (const json::Value* x5c = header.find("x5c")) {
        return key_of_x5c(*x5c, keys, now, until, malformed);
    }
    if (const json::Value* jwk = header.find("jwk")) {
        EVP_PKEY* key = key_from_jwk(*jwk);
        if (key == nullptr) {
            malformed = true;
            return nullptr;
        }
        if (!keys.trusts(key)) {
            EVP_PKEY_free(key);
            return nullptr;
        }
        return key;
    }
    const json::Value* kid = header.find("kid");
    if (kid == nullptr || !kid->is_string()) return nullptr;
    EVP_PKEY* key = keys.find(kid->text);
    if (key == nullptr || EVP_PKEY_up_ref(key) != 1) return nullptr;
    return key;
}

bool strings_of(const json::Value* v, std::vector<std::string>& out) {
    if (v == nullptr) return true;
    if (v->type != json::Type::array) return false;
    for (const json::Value& item : v->items) {
        if (!item.is_string()) return false;
        out.push_back(item.text);
    }
    return true;
}

// The claims, once the signature held: false when one of them is not of its shape.
bool read_claims(const json::Value& claims, CheckedToken& out, std::string& iss, std::vector<std::string>& aud,
                 bool& has_nbf, std::int64_t& nbf) {
    if (claims.type != json::Type::object) return false;
    const json::Value* v = claims.find("iss");
    if (v != nullptr && !v->is_string()) return false;
    iss = v != nullptr ? v->text : std::string();
    v = claims.find("sub");
    if (v != nullptr && !v->is_string()) return false;
    out.subject = v != nullptr ? v->text : std::string();
    v = claims.find("aud");  // a string or an array of strings (RFC 7519 4.1.3)
    if (v != nullptr && v->is_string()) {
        aud.push_back(v->text);
    } else if (!strings_of(v, aud)) {
        return false;
    }
    v = claims.find("exp");
    if (v == nullptr || !v->as_int64(out.expires_at)) return false;
    v = claims.find("nbf");
    has_nbf = v != nullptr;
    if (has_nbf && !v->as_int64(nbf)) return false;
    v = claims.find("access");
    if (v == nullptr || v->type == json::Type::null) return true;
    if (v->type != json::Type::array) return false;
    for (const json::Value& entry : v->items) {
        if (entry.type != json::Type::object) return false;
        Grant g;
        const json::Value* type = entry.find("type");
        const json::Value* name = entry.find("name");
        if ((type != nullptr && !type->is_string()) || (name != nullptr && !name->is_string()) ||
            !strings_of(entry.find("actions"), g.actions)) {
            return false;
        }
        g.type = type != nullptr ? type->text : std::string();
        g.name = name != nullptr ? name->text : std::string();
        out.access.push_back(std::move(g));
    }
    return true;
}

bool decode_json(std::string_view part, json::Value& out) {
    std::string bytes, error;
    return base64_decode(part, Base64::url_unpadded, bytes) && json::parse(bytes, out, error);
}

}  // namespace

bool CheckedToken::may_pull(std::string_view name) const noexcept {
    for (const Grant& g : access) {
        if (g.type != "repository" || g.name != name) continue;
        for (const std::string& action : g.actions) {
            if (action == "pull" || action == "*") return true;
        }
    }
    return false;
}

std::string_view verdict_text(TokenVerdict v) noexcept {
    switch (v) {
        case TokenVerdict::valid: return "valid";
        case TokenVerdict::malformed: return "malformed";
        case TokenVerdict::unsupported_algorithm: return "an unsupported algorithm";
        case TokenVerdict::untrusted_key: return "signed by a key that is not trusted";
        case TokenVerdict::bad_signature: return "a signature that does not verify";
        case TokenVerdict::wrong_issuer: return "of another issuer";
        case TokenVerdict::wrong_audience: return "for another service";
        case TokenVerdict::expired: return "expired";
        case TokenVerdict::not_yet_valid: return "not valid yet";
    }
    return "unknown";
}

TokenVerdict check_token(std::string_view token, const TokenTrust& trust, std::int64_t now, CheckedToken& out) {
    out = CheckedToken{};
    if (token.empty() || token.size() > max_token_size) return TokenVerdict::malformed;
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return TokenVerdict::malformed;
    }
    const std::string_view header_part = token.substr(0, dot1);
    const std::string_view claims_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signature_part = token.substr(dot2 + 1);

    json::Value header;
    if (!decode_json(header_part, header) || header.type != json::Type::object) return TokenVerdict::malformed;
    const json::Value* alg_name = header.find("alg");
    if (alg_name == nullptr || !alg_name->is_string()) return TokenVerdict::malformed;
    const Algorithm* alg = algorithm_named(alg_name->text);
    // Extensions this checker does not know may not be ignored (RFC 7515 4.1.11).
    if (alg == nullptr || header.find("crit") != nullptr) return TokenVerdict::unsupported_algorithm;
    std::string signature;
    if (signature_part.empty() || !base64_decode(signature_part, Base64::url_unpadded, signature)) {
        return TokenVerdict::malformed;
    }

    bool malformed = false;
    std::int64_t key_until = 0;
    EVP_PKEY* key = signing_key(header, trust.chain_memory(), now, key_until, malformed);
    if (key == nullptr) return malformed ? TokenVerdict::malformed : TokenVerdict::untrusted_key;
    const bool fitting = fits(*alg, key);
    const bool holds = fitting && signature_holds(*alg, key, token.substr(0, dot2), signature);
    EVP_PKEY_free(key);
    ERR_clear_error();
    if (!fitting) return TokenVerdict::unsupported_algorithm;
    if (!holds) return TokenVerdict::bad_signature;

    json::Value claims;
    std::string iss;
    std::vector<std::string> aud;
    bool has_nbf = false;
    std::int64_t nbf = 0;
    if (!decode_json(claims_part, claims) || !read_claims(claims, out, iss, aud, has_nbf, nbf)) {
        out = CheckedToken{};
        return TokenVerdict::malformed;
    }
    TokenVerdict verdict = TokenVerdict::valid;
    if (iss != trust.issuer()) {
        verdict = TokenVerdict::wrong_issuer;
    } else if (std::find(aud.begin(), aud.end(), trust.service()) == aud.end()) {
        verdict = TokenVerdict::wrong_audience;
    } else if (now - token_leeway_seconds > out.expires_at) {  // (no overflow for any exp)
        verdict = TokenVerdict::expired;
    } else if (has_nbf && now + token_leeway_seconds < nbf) {
        verdict = TokenVerdict::not_yet_valid;
    }
    if (verdict != TokenVerdict::valid) {
        out = CheckedToken{};
        return verdict;
    }
    const std::int64_t exp_until =
        out.expires_at > INT64_MAX - token_leeway_seconds ? INT64_MAX : out.expires_at + token_leeway_seconds;
    out.usable_until = std::min(exp_until, key_until);
    return verdict;
}

}  // namespace registry_cache::auth
