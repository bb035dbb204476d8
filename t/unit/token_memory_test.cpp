// The worker's memory of checked tokens: a remembered token answers only while it is usable,
// only for its own trust, and only for its own whole text.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "registry_cache/auth/token_memory.h"
#include "token_vectors.h"

namespace {

using registry_cache::auth::check_remembered;
using registry_cache::auth::CheckedToken;
using registry_cache::auth::TokenMemory;
using registry_cache::auth::TokenTrust;
using registry_cache::auth::TokenVerdict;

constexpr std::int64_t year = 365 * 86400;

struct Vectors : TokenVectors {
    void load(TokenTrust& trust) const {
        std::string error;
        ASSERT_TRUE(TokenVectors::load(trust, error)) << error;
    }
};

const Vectors& vectors() {
    static const Vectors v;
    return v;
}

TEST(TokenMemory, AValidTokenIsRememberedAndFoundUntilItsExpiryWithTheLeeway) {
    const Vectors& v = vectors();
    TokenTrust trust;
    v.load(trust);
    const std::string& token = v.tokens.at("valid_rs256");
    const CheckedToken* checked = nullptr;
    EXPECT_EQ(trust.token_memory().find(token, v.now), nullptr);
    ASSERT_EQ(check_remembered(token, trust, v.now, checked), TokenVerdict::valid);
    ASSERT_NE(checked, nullptr);
    EXPECT_TRUE(checked->may_pull("demo/private"));
    EXPECT_EQ(trust.token_memory().size(), 1u);
    EXPECT_EQ(trust.token_memory().find(token, v.now + 360), checked);
    EXPECT_EQ(trust.token_memory().find(token, v.now + 361), nullptr);
    EXPECT_EQ(check_remembered(token, trust, v.now + 361, checked), TokenVerdict::expired);
}

TEST(TokenMemory, ARememberedTokenEndsWithItsChainNotItsExpiry) {
    // exp is two hundred years away, the chain's certificates end in a hundred: past them the
    // memory has nothing, and the check refuses the chain.
    const Vectors& v = vectors();
    TokenTrust trust;
    v.load(trust);
    const std::string& token = v.tokens.at("exp_after_chain");
    const CheckedToken* checked = nullptr;
    ASSERT_EQ(check_remembered(token, trust, v.now, checked), TokenVerdict::valid);
    EXPECT_NE(trust.token_memory().find(token, v.now + 99 * year), nullptr);
    EXPECT_EQ(trust.token_memory().find(token, v.now + 101 * year), nullptr);
    EXPECT_EQ(check_remembered(token, trust, v.now + 101 * year, checked), TokenVerdict::untrusted_key);
}

TEST(TokenMemory, ATokenProvenAgainstOneTrustIsNotRememberedByAnother) {
    // As after a reload: a new trust (perhaps at the old one's address) starts with nothing,
    // and one of another issuer refuses what the first proved.
    const Vectors& v = vectors();
    const std::string& token = v.tokens.at("valid_rs256");
    const CheckedToken* checked = nullptr;
    for (int generation = 0; generation < 2; ++generation) {
        auto trust = std::make_unique<TokenTrust>();
        v.load(*trust);
        EXPECT_EQ(trust->token_memory().find(token, v.now), nullptr) << generation;
        ASSERT_EQ(check_remembered(token, *trust, v.now, checked), TokenVerdict::valid);
    }
    TokenTrust first, other;
    v.load(first);
    std::string error;
    ASSERT_TRUE(other.load(v.dir + "/roots.pem", "", "another-issuer", v.service, error)) << error;
    ASSERT_EQ(check_remembered(token, first, v.now, checked), TokenVerdict::valid);
    EXPECT_EQ(other.token_memory().find(token, v.now), nullptr);
    EXPECT_EQ(check_remembered(token, other, v.now, checked), TokenVerdict::wrong_issuer);
    EXPECT_EQ(other.token_memory().size(), 0u);
}

TEST(TokenMemory, TheWholeTokenIsComparedNotOnlyItsSignature) {
    TokenMemory memory;
    CheckedToken grants;
    grants.usable_until = 1000;
    grants.access.push_back({"repository", "demo/private", {"pull"}});
    memory.remember("header.claims.signature", grants, 0);
    EXPECT_NE(memory.find("header.claims.signature", 10), nullptr);
    EXPECT_EQ(memory.find("header.other-claims.signature", 10), nullptr);
    EXPECT_EQ(memory.find("signature", 10), nullptr);
}

TEST(TokenMemory, ItIsBoundedAndForgetsTheUnusableFirst) {
    TokenMemory memory;
    CheckedToken checked;
    for (std::size_t i = 0; i < TokenMemory::max_tokens; ++i) {
        checked.usable_until = i % 2 == 0 ? 100 : 10'000;  // half of them unusable at 1000
        memory.remember("h.c." + std::to_string(i), checked, 0);
    }
    EXPECT_EQ(memory.size(), TokenMemory::max_tokens);
    memory.remember("h.c.new", checked, 1000);
    EXPECT_EQ(memory.size(), TokenMemory::max_tokens / 2 + 1);
    EXPECT_NE(memory.find("h.c.1", 1000), nullptr);
    EXPECT_EQ(memory.find("h.c.0", 1000), nullptr);
    // All usable at the bound: all go, the new one stays.
    for (std::size_t i = 0; memory.size() < TokenMemory::max_tokens; ++i) {
        memory.remember("h.d." + std::to_string(i), checked, 1000);
    }
    memory.remember("h.c.last", checked, 1000);
    EXPECT_EQ(memory.size(), 1u);
    EXPECT_NE(memory.find("h.c.last", 1000), nullptr);
}

}  // namespace
