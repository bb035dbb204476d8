#include "registry_cache/hasher.h"

#include <openssl/evp.h>

namespace registry_cache {
namespace {

const EVP_MD* md_of(DigestAlgorithm a) noexcept {
    switch (a) {
        case DigestAlgorithm::sha256: return EVP_sha256();
        case DigestAlgorithm::sha384: return EVP_sha384();
        case DigestAlgorithm::sha512: return EVP_sha512();
        case DigestAlgorithm::other: break;
    }
    return nullptr;
}

EVP_MD_CTX* ctx_of(void* p) noexcept { return static_cast<EVP_MD_CTX*>(p); }

}  // namespace

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_of(ctx_)); }

bool Hasher::start(DigestAlgorithm algorithm) noexcept {
    const EVP_MD* md = md_of(algorithm);
    if (md == nullptr) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1) {
        EVP_MD_CTX_free(ctx);
        return false;
    }
    EVP_MD_CTX_free(ctx_of(ctx_));
    ctx_ = ctx;
    algorithm_ = algorithm;
    bytes_ = 0;
    return true;
}

bool Hasher::update(const void* data, std::size_t size) noexcept {
    if (ctx_ == nullptr || EVP_DigestUpdate(ctx_of(ctx_), data, size) != 1) return false;
    bytes_ += size;
    return true;
}

std::string Hasher::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (ctx_ == nullptr || EVP_DigestFinal_ex(ctx_of(ctx_), md, &len) != 1) return {};
    EVP_MD_CTX_free(ctx_of(ctx_));
    ctx_ = nullptr;

    static constexpr char hex[] = "0123456789abcdef";
    std::string out(algorithm_name(algorithm_));
    out += ':';
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 0xf];
    }
    return out;
}

std::string digest_of(DigestAlgorithm algorithm, std::string_view data) {
    Hasher h;
    if (!h.start(algorithm) || !h.update(data.data(), data.size())) return {};
    return h.finish();
}

}  // namespace registry_cache
