// Repository name and tag grammar, and digests on their own.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/digest.h"
#include "registry_cache/reference.h"

namespace registry_cache {
namespace {

TEST(Name, AcceptsTheGrammar) {
    for (const char* n : {"a", "0", "library/alpine", "a.b", "a_b", "a__b", "a-b", "a--b",
                          "a/b/c/d/e", "x9/y8.z7"}) {
        EXPECT_TRUE(is_valid_name(n)) << n;
    }
}

TEST(Name, RejectsWhatTheGrammarDoes) {
    for (const char* n : {"", "A", "a/", "/a", "a//b", "a..b", "a._b", "a___b", ".a", "a.",
                          "-a", "a-", "a/./b", "a/../b", "a b", "a:b", "a%2fb", "a@b", "é"}) {
        EXPECT_FALSE(is_valid_name(n)) << n;
    }
}

TEST(Name, LengthLimitIsInclusive) {
    EXPECT_TRUE(is_valid_name(std::string(255, 'a')));
    EXPECT_FALSE(is_valid_name(std::string(256, 'a')));
    std::string split = std::string(127, 'a') + "/" + std::string(127, 'b');
    EXPECT_TRUE(is_valid_name(split));
    EXPECT_FALSE(is_valid_name(split + "c"));
}

TEST(Tag, Grammar) {
    for (const char* t : {"latest", "3.19", "_x", "V1.0-rc.1", "A"}) EXPECT_TRUE(is_valid_tag(t)) << t;
    for (const char* t : {"", ".x", "-x", "a/b", "a:b", "a b", "a+b"}) EXPECT_FALSE(is_valid_tag(t)) << t;
    EXPECT_TRUE(is_valid_tag(std::string(128, 'a')));
    EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
}

TEST(Digest, KnownAlgorithmsNeedExactLowerHex) {
    EXPECT_EQ(parse_digest("sha256:" + std::string(64, '0')).status, DigestStatus::ok);
    EXPECT_EQ(parse_digest("sha384:" + std::string(96, 'e')).status, DigestStatus::ok);
    EXPECT_EQ(parse_digest("sha512:" + std::string(128, 'f')).status, DigestStatus::ok);
    EXPECT_EQ(parse_digest("sha384:" + std::string(64, 'e')).status, DigestStatus::bad_encoding);
    EXPECT_EQ(parse_digest("sha256:" + std::string(64, 'F')).status, DigestStatus::bad_encoding);
}

// Every byte value at the first, a middle and the last place of a sha256 digest: the one
// pass over lowercase hex must judge exactly as the grammar does (malformed outside
// [a-zA-Z0-9=_-], bad_encoding inside it but not lowercase hex).
TEST(Digest, EveryByteAtEveryEndIsJudgedByTheGrammar) {
    for (std::size_t place : {std::size_t{0}, std::size_t{31}, std::size_t{63}}) {
        for (int byte = 0; byte < 256; ++byte) {
            std::string encoded(64, 'a');
            const char c = static_cast<char>(byte);
            encoded[place] = c;
            const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            const bool encoding = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || c == '=' || c == '_' || c == '-';
            const DigestStatus want = hex        ? DigestStatus::ok
                                      : encoding ? DigestStatus::bad_encoding
                                                 : DigestStatus::malformed;
            const std::string text = "sha256:" + encoded;  // the result points into it
            const DigestParse p = parse_digest(text);
            EXPECT_EQ(p.status, want) << "byte " << byte << " at " << place;
            EXPECT_EQ(is_lower_hex_text(encoded), hex) << "byte " << byte << " at " << place;
            if (hex) {
                EXPECT_EQ(p.digest.encoded, encoded);
            }
        }
    }
    EXPECT_TRUE(is_lower_hex_text(""));
}

TEST(Digest, UnknownButWellFormedAlgorithmsPassUncacheable) {
    DigestParse p = parse_digest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8");
    ASSERT_EQ(p.status, DigestStatus::ok);
    EXPECT_EQ(p.digest.algorithm, DigestAlgorithm::other);
    EXPECT_FALSE(is_cacheable(p.digest.algorithm));
    EXPECT_EQ(p.digest.algorithm_name, "multihash+base58");
}

TEST(Digest, MalformedAlgorithmsAndEncodings) {
    for (const char* s : {"", ":", "sha256", "sha256:", ":abc", "a+:b", "+a:b", "a..b:c",
                          "Sha256:abc", "sha256:ab/c", "sha256:ab c", "sha256:ab:c", "a:b%3d"}) {
        EXPECT_EQ(parse_digest(s).status, DigestStatus::malformed) << s;
    }
}

}  // namespace
}  // namespace registry_cache
