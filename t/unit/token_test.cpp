// Bearer tokens checked as distribution checks them, against vectors made with OpenSSL's
// command line (t/unit/vectors/make-tokens.sh): every good shape passes, every bad one fails
// for its own reason.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "registry_cache/auth/token.h"
#include "token_vectors.h"

namespace {

using registry_cache::auth::check_token;
using registry_cache::auth::CheckedToken;
using registry_cache::auth::TokenTrust;
using registry_cache::auth::TokenVerdict;


struct Vectors : TokenVectors {
    TokenTrust trust;
    TokenTrust trust_without_jwks;

    Vectors() {
        std::string error;
        if (!load(trust, error, true) || !load(trust_without_jwks, error)) ADD_FAILURE() << error;
    }
};

Vectors& vectors() {
    static Vectors v;
    return v;
}

TokenVerdict check(const std::string& name, CheckedToken& out, std::int64_t delta = 0) {
    Vectors& v = vectors();
    auto it = v.tokens.find(name);
    EXPECT_NE(it, v.tokens.end()) << "no vector " << name;
    return it == v.tokens.end() ? TokenVerdict::malformed : check_token(it->second, v.trust, v.now + delta, out);
}

TEST(Token, VectorsAreThere) {
    EXPECT_GE(vectors().tokens.size(), 28u);
    EXPECT_GT(vectors().now, 0);
}

TEST(Token, EveryAlgorithmAndKeyRouteIsAccepted) {
    for (const char* name : {"valid_rs256", "valid_rs512", "valid_ps256", "valid_es256", "valid_es384", "valid_es512",
                             "valid_eddsa", "valid_kid_of_root", "valid_kid_of_jwks", "valid_aud_array"}) {
        CheckedToken t;
        EXPECT_EQ(check(name, t), TokenVerdict::valid) << name;
        EXPECT_TRUE(t.may_pull("demo/private")) << name;
        EXPECT_FALSE(t.may_pull("demo/other")) << name;
        EXPECT_EQ(t.expires_at, vectors().now + 300) << name;
        EXPECT_EQ(t.subject, "alice") << name;
    }
}

TEST(Token, AJwksKeyIsTrustedOnlyWhenConfigured) {
    CheckedToken t;
    const std::string& token = vectors().tokens["valid_kid_of_jwks"];
    EXPECT_EQ(check_token(token, vectors().trust_without_jwks, vectors().now, t), TokenVerdict::untrusted_key);
}

TEST(Token, ExpiryAndNotBeforeHoldWithSixtySecondsOfLeeway) {
    CheckedToken t;
    EXPECT_EQ(check("valid_within_leeway", t), TokenVerdict::valid);  // expired 30 s ago
    EXPECT_EQ(check("valid_rs256", t, 300 + 60), TokenVerdict::valid);
    EXPECT_EQ(check("valid_rs256", t, 300 + 61), TokenVerdict::expired);
    EXPECT_EQ(check("expired", t), TokenVerdict::expired);  // 120 s ago
    EXPECT_EQ(check("not_yet_valid", t), TokenVerdict::not_yet_valid);  // in 120 s
    EXPECT_EQ(check("not_yet_valid", t, 60), TokenVerdict::valid);
    EXPECT_TRUE(t.may_pull("demo/private"));
}

TEST(Token, GrantsAreReadAsGiven) {
    CheckedToken t;
    EXPECT_EQ(check("other_repository", t), TokenVerdict::valid);
    EXPECT_FALSE(t.may_pull("demo/private"));
    EXPECT_TRUE(t.may_pull("demo/other"));
    EXPECT_EQ(check("push_only", t), TokenVerdict::valid);
    EXPECT_FALSE(t.may_pull("demo/private"));
    EXPECT_EQ(check("no_access", t), TokenVerdict::valid);
    EXPECT_FALSE(t.may_pull("demo/private"));
}

TEST(Token, EachBadTokenFailsForItsReason) {
    const std::pair<const char*, TokenVerdict> cases[] = {
        {"untrusted_root", TokenVerdict::untrusted_key},
        {"untrusted_kid", TokenVerdict::untrusted_key},
        {"chain_without_intermediate", TokenVerdict::untrusted_key},
        {"wrong_issuer", TokenVerdict::wrong_issuer},
        {"wrong_service", TokenVerdict::wrong_audience},
        {"rsa_1024", TokenVerdict::unsupported_algorithm},
        {"alg_not_the_key", TokenVerdict::unsupported_algorithm},
        {"hs256_with_public_key", TokenVerdict::unsupported_algorithm},
        {"alg_none", TokenVerdict::unsupported_algorithm},
        {"crit_header", TokenVerdict::unsupported_algorithm},
        {"eddsa_ed448", TokenVerdict::unsupported_algorithm},
        {"tampered_payload", TokenVerdict::bad_signature},
        {"truncated_signature", TokenVerdict::bad_signature},
    };
    for (const auto& [name, verdict] : cases) {
        CheckedToken t;
        EXPECT_EQ(check(name, t), verdict) << name;
        EXPECT_FALSE(t.may_pull("demo/private")) << name << ": a refused token grants nothing";
        EXPECT_EQ(t.expires_at, 0) << name;
    }
}

TEST(Token, AChainIsCheckedAtTheTimeGiven) {
    CheckedToken t;
    // Ten days before the vectors were made, their certificates were not valid yet; once a
    // chain verified, the memory of it holds only within its certificates' window (a
    // hundred years: not after).
    EXPECT_EQ(check("valid_rs256", t, -10 * 86400), TokenVerdict::untrusted_key);
    EXPECT_EQ(check("valid_rs256", t), TokenVerdict::valid);
    EXPECT_EQ(check("valid_rs256", t, -10 * 86400), TokenVerdict::untrusted_key);
    EXPECT_EQ(check("valid_rs256", t, std::int64_t{101} * 365 * 86400), TokenVerdict::untrusted_key);
    EXPECT_EQ(check("valid_rs256", t), TokenVerdict::valid);
}

TEST(Token, ATokenIsUsableUntilItsExpiryOrItsChainsEndWhicheverIsFirst) {
    CheckedToken t;
    ASSERT_EQ(check("valid_rs256", t), TokenVerdict::valid);
    EXPECT_EQ(t.usable_until, vectors().now + 300 + 60);
    ASSERT_EQ(check("valid_kid_of_root", t), TokenVerdict::valid);  // a key of the trust: exp only
    EXPECT_EQ(t.usable_until, vectors().now + 300 + 60);
    // Two hundred years of exp, a hundred of certificates: the chain's end bounds it, once
    // verified and again from the chain memory.
    for (int round = 0; round < 2; ++round) {
        ASSERT_EQ(check("exp_after_chain", t), TokenVerdict::valid);
        EXPECT_GT(t.expires_at, vectors().now + std::int64_t{199} * 365 * 86400);
        EXPECT_LT(t.usable_until, vectors().now + std::int64_t{101} * 365 * 86400);
        EXPECT_GT(t.usable_until, vectors().now + std::int64_t{99} * 365 * 86400);
    }
}

TEST(Token, AChainVerifiedOnceStillNeedsEachTokensOwnSignature) {
    CheckedToken t;
    EXPECT_EQ(check("valid_rs256", t), TokenVerdict::valid);
    // The same x5c chain, claims swapped after signing: the chain is known, the signature is not.
    EXPECT_EQ(check("tampered_payload", t), TokenVerdict::bad_signature);
    EXPECT_EQ(check("truncated_signature", t), TokenVerdict::bad_signature);
}

TEST(Token, MalformedShapes) {
    Vectors& v = vectors();
    const std::string good = v.tokens["valid_rs256"];
    const std::string header = good.substr(0, good.find('.'));
    CheckedToken t;
    for (const std::string& token : {
             std::string(), std::string("a.b"), std::string("a.b.c.d"), std::string("..."),
             header + ".." ,                                  // no claims, no signature
             std::string("e30.e30.AAAA"),                     // {} header: no alg
             std::string("W10.e30.AAAA"),                     // [] header
             std::string("bm90IGpzb24.e30.AAAA"),             // "not json"
             std::string("eyJhbGciOiJSUzI1NiJ9!.e30.AAAA"),   // a byte out of the alphabet
             std::string("eyJhbGciOiJSUzI1NiJ9.e30.AAAA"),    // RS256, no key named
             good + "=",                                      // padding in a JWS part
             std::string(registry_cache::auth::max_token_size + 1, 'a'),
         }) {
        const TokenVerdict verdict = check_token(token, v.trust, v.now, t);
        EXPECT_NE(verdict, TokenVerdict::valid) << token.substr(0, 60);
    }
    // A header that names no key: nobody's to trust.
    EXPECT_EQ(check_token("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", v.trust, v.now, t), TokenVerdict::untrusted_key);
    EXPECT_EQ(check_token("e30.e30.AAAA", v.trust, v.now, t), TokenVerdict::malformed);
}

}  // namespace
