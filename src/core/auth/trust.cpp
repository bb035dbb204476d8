// The roots and keys an edge trusts for Bearer tokens (auth/token.h): a PEM bundle, as
// distribution's `rootcertbundle`, and an optional JWK set.
#include "openssl_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <fstream>
#include <sstream>

#include "registry_cache/auth/base64.h"
#include "registry_cache/auth/token_memory.h"
#include "registry_cache/hasher.h"

namespace registry_cache::auth {

namespace {

bool read_file(const std::string& path, std::string& out, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open \"" + path + "\"";
        return false;
    }
    std::ostringstream s;
    s << in.rdbuf();
    out = s.str();
    return true;
}

std::string member_text(const json::Value& v, const char* name) {
    const json::Value* m = v.find(name);
    return m != nullptr && m->is_string() ? m->text : std::string();
}

// A base64url member decoded; empty when absent or invalid.
std::string member_bytes(const json::Value& v, const char* name) {
    std::string out;
    const std::string text = member_text(v, name);
    if (text.empty() || !base64_decode(text, Base64::url_unpadded, out)) return {};
    return out;
}

EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
    EVP_PKEY* key = nullptr;
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
    if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = nullptr;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

EVP_PKEY* rsa_from_jwk(const json::Value& jwk) {
    const std::string n = member_bytes(jwk, "n"), e = member_bytes(jwk, "e");
    if (n.empty() || e.empty()) return nullptr;
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    EVP_PKEY* key = nullptr;
    if (bn_n != nullptr && bn_e != nullptr && bld != nullptr &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
        key = from_params("RSA", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return key;
}

EVP_PKEY* ec_from_jwk(const json::Value& jwk) {
    const std::string crv = member_text(jwk, "crv");
    const char* group;
    std::size_t size;
    if (crv == "P-256") {
        group = "P-256";
        size = 32;
    } else if (crv == "P-384") {
        group = "P-384";
        size = 48;
    } else if (crv == "P-521") {
        group = "P-521";
        size = 66;
    } else {
        return nullptr;
    }
    const std::string x = member_bytes(jwk, "x"), y = member_bytes(jwk, "y");
    if (x.size() != size || y.size() != size) return nullptr;
    const std::string point = std::string(1, '\x04') + x + y;  // uncompressed
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    EVP_PKEY* key = nullptr;
    if (bld != nullptr && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1) {
        key = from_params("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    return key;
}

EVP_PKEY* okp_from_jwk(const json::Value& jwk) {
    const std::string crv = member_text(jwk, "crv"), x = member_bytes(jwk, "x");
    const auto* raw = reinterpret_cast<const unsigned char*>(x.data());
    // Ed25519 only: JOSE's EdDSA as distribution's JOSE library implements it.
    if (crv == "Ed25519" && x.size() == 32) return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, 32);
    return nullptr;
}

// A key of the trust, under its ID (taking ownership); false when it is null.
bool add_key(TokenTrust::Keys& keys, std::string id, EVP_PKEY* key) {
    if (key == nullptr || id.empty()) {
        EVP_PKEY_free(key);
        return false;
    }
    keys.by_id.emplace_back(std::move(id), key);
    return true;
}

bool load_bundle(TokenTrust::Keys& keys, const std::string& path, std::string& error) {
    std::string pem;
    if (!read_file(path, pem, error)) return false;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) {
        error = "out of memory";
        return false;
    }
    int count = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(keys.roots, cert);
        EVP_PKEY* key = X509_get_pubkey(cert);
        add_key(keys, key_id_of(key), key);
        X509_free(cert);
        ++count;
    }
    BIO_free(bio);
    ERR_clear_error();  // the end of the bundle reads as an error
    if (count == 0) {
        error = "no certificate in \"" + path + "\"";
        return false;
    }
    return true;
}

bool load_jwks(TokenTrust::Keys& keys, const std::string& path, std::string& error) {
    std::string text, why;
    if (!read_file(path, text, error)) return false;
    json::Value doc;
    if (!json::parse(text, doc, why)) {
        error = "\"" + path + "\" is not JSON: " + why;
        return false;
    }
    const json::Value* list = doc.find("keys");
    if (list == nullptr || list->type != json::Type::array || list->items.empty()) {
        error = "\"" + path + "\" has no \"keys\"";
        return false;
    }
    for (const json::Value& jwk : list->items) {
        EVP_PKEY* key = key_from_jwk(jwk);
        const std::string kid = member_text(jwk, "kid");
        if (key == nullptr) {
            error = "a key of \"" + path + "\" is not a usable public JWK";
            return false;
        }
        if (!kid.empty() && EVP_PKEY_up_ref(key) == 1) add_key(keys, kid, key);
        add_key(keys, key_id_of(key), key);
    }
    return true;
}

}  // namespace

TokenTrust::Keys::Keys() : roots(X509_STORE_new()) {
    // Every certificate of the bundle is an anchor, as in a Go root pool (distribution's
    // rootcertbundle), not only self-signed ones.
    if (roots != nullptr) X509_STORE_set_flags(roots, X509_V_FLAG_PARTIAL_CHAIN);
}

TokenTrust::Keys::~Keys() {
    X509_STORE_free(roots);
    for (auto& k : by_id) EVP_PKEY_free(k.second);
    for (auto& c : chains) EVP_PKEY_free(c.second.key);
}

EVP_PKEY* TokenTrust::Keys::find(const std::string& id) const noexcept {
    for (const auto& k : by_id) {
        if (k.first == id) return k.second;
    }
    return nullptr;
}

bool TokenTrust::Keys::trusts(EVP_PKEY* key) const noexcept {
    for (const auto& k : by_id) {
        if (EVP_PKEY_eq(k.second, key) == 1) return true;
    }
    return false;
}

EVP_PKEY* key_from_jwk(const json::Value& jwk) {
    if (jwk.type != json::Type::object) return nullptr;
    const std::string kty = member_text(jwk, "kty");
    if (kty == "RSA") return rsa_from_jwk(jwk);
    if (kty == "EC") return ec_from_jwk(jwk);
    if (kty == "OKP") return okp_from_jwk(jwk);
    return nullptr;
}

std::string key_id_of(EVP_PKEY* key) {
    if (key == nullptr) return {};
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key, &der);
    if (size <= 0) return {};
    std::string id = libtrust_key_id(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(size)));
    OPENSSL_free(der);
    return id;
}

std::string libtrust_key_id(std::string_view spki_der) {
    const std::string hex = digest_of(DigestAlgorithm::sha256, spki_der);  // "sha256:<hex>"
    std::string raw;
    for (std::size_t i = 7; i + 1 < hex.size() && raw.size() < 30; i += 2) {
        raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    const std::string b32 = base32_encode(raw);  // 48 characters
    std::string id;
    for (std::size_t i = 0; i < b32.size(); i += 4) {
        if (!id.empty()) id += ':';
        id += b32.substr(i, 4);
    }
    return id;
}

namespace {

bool seconds_of(const ASN1_TIME* t, std::int64_t& out) {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
    out = static_cast<std::int64_t>(timegm(&tm));
    return true;
}

}  // namespace

VerifiedChain verify_chain(X509_STORE* roots, const std::vector<std::string>& chain, std::int64_t now) {
    VerifiedChain verified;
    if (chain.empty() || roots == nullptr) return verified;
    std::vector<X509*> certs;
    bool ok = true;
    for (const std::string& der : chain) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
        if (cert == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
            X509_free(cert);  // nothing, or bytes after the certificate
            ok = false;
            break;
        }
        certs.push_back(cert);
    }
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    if (ok && untrusted != nullptr && ctx != nullptr) {
        for (std::size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted, certs[i]);
        if (X509_STORE_CTX_init(ctx, roots, certs[0], untrusted) == 1) {
            X509_STORE_CTX_set_time(ctx, 0, static_cast<time_t>(now));
            if (X509_verify_cert(ctx) == 1) {
                // The window of the chain as built (to the root of the bundle).
                bool known = true;
                verified.not_before = INT64_MIN;
                verified.not_after = INT64_MAX;
                STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx);
                for (int i = 0; known && i < sk_X509_num(built); ++i) {
                    X509* cert = sk_X509_value(built, i);
                    std::int64_t from = 0, until = 0;
                    known = seconds_of(X509_get0_notBefore(cert), from) && seconds_of(X509_get0_notAfter(cert), until);
                    verified.not_before = std::max(verified.not_before, from);
                    verified.not_after = std::min(verified.not_after, until);
                }
                if (known) verified.key = X509_get_pubkey(certs[0]);
            }
        }
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    for (X509* cert : certs) X509_free(cert);
    ERR_clear_error();
    return verified;
}

TokenTrust::TokenTrust() : keys_(std::make_unique<Keys>()), memory_(std::make_unique<TokenMemory>()) {}
TokenTrust::~TokenTrust() = default;

bool TokenTrust::load(const std::string& bundle, const std::string& jwks, std::string issuer, std::string service,
                      std::string& error) {
    if (keys_->roots == nullptr) {
        error = "out of memory";
        return false;
    }
    if (!load_bundle(*keys_, bundle, error)) return false;
    if (!jwks.empty() && !load_jwks(*keys_, jwks, error)) return false;
    issuer_ = std::move(issuer);
    service_ = std::move(service);
    return true;
}

}  // namespace registry_cache::auth
