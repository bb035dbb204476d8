// LMDB key bytes.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/keys.h"

namespace registry_cache {
namespace {

const std::string sha256_text = "sha256:" + std::string(64, 'a');
const std::string sha384_text = "sha384:" + std::string(96, 'b');
const std::string sha512_text = "sha512:" + std::string(128, 'c');

Digest parsed(const std::string& text) {
    DigestParse p = parse_digest(text);
    EXPECT_EQ(p.status, DigestStatus::ok) << text;
    return p.digest;
}

TEST(Keys, DescriptorKeyIsTheDigest) {
    for (const std::string* text : {&sha256_text, &sha384_text, &sha512_text}) {
        EXPECT_EQ(descriptor_key(parsed(*text)).view(), *text);
    }
}

TEST(Keys, LinkKeyIsRepositoryNulAlgorithmAndDigestBytes) {
    Key key = link_key("library/alpine", parsed(sha256_text));
    const std::string expected = std::string("library/alpine") + '\0' + '\x01' + std::string(32, '\xaa');
    EXPECT_EQ(key.view(), expected);
    ASSERT_EQ(key.view().size(), 14u + 1u + 1u + 32u);
    EXPECT_EQ(key.view()[14], '\0');

    const std::string mixed = "sha256:0123456789abcdef" + std::string(48, '0');
    const std::string bytes = std::string("\x01\x23\x45\x67\x89\xab\xcd\xef", 8) + std::string(24, '\0');
    EXPECT_EQ(link_key("a", parsed(mixed)).view(), std::string("a\0\x01", 3) + bytes);
    EXPECT_EQ(link_key("a", parsed(sha384_text)).view(),
              std::string("a\0\x02", 3) + std::string(48, '\xbb'));
}

TEST(Keys, TagKeyIsRepositoryNulTag) {
    EXPECT_EQ(tag_key("library/alpine", "3.19").view(), std::string("library/alpine\0" "3.19", 19));
    EXPECT_NE(tag_key("a", "b").view(), tag_key("a/b", "b").view());
    EXPECT_TRUE(tag_key("library/alpine", "").empty());
    EXPECT_TRUE(tag_key("library/alpine", ".x").empty());
    EXPECT_TRUE(tag_key("library/alpine", std::string(129, 'a')).empty());
    EXPECT_TRUE(tag_key("Library", "latest").empty());
    EXPECT_FALSE(tag_key(std::string(max_name_length, 'a'), std::string(128, 'a')).empty());
}

TEST(Keys, AlgorithmsNeverShareAKey) {
    // The same leading bytes under two algorithms are two keys.
    const std::string a256 = "sha256:" + std::string(64, 'c');
    const std::string a512 = "sha512:" + std::string(128, 'c');
    EXPECT_NE(link_key("a", parsed(a256)).view(), link_key("a", parsed(a512)).view().substr(0, 2 + 1 + 32));
}

TEST(Keys, RepositoriesNeverShareAKey) {
    const Digest d = parsed(sha256_text);
    EXPECT_NE(link_key("a", d).view(), link_key("a/b", d).view());
    EXPECT_NE(link_key("a", d).view(), link_key("b", d).view());
}

TEST(Keys, OtherAlgorithmsAreNotCacheable) {
    DigestParse p = parse_digest("blake3:" + std::string(64, 'a'));
    ASSERT_EQ(p.status, DigestStatus::ok);
    ASSERT_EQ(p.digest.algorithm, DigestAlgorithm::other);
    EXPECT_TRUE(descriptor_key(p.digest).empty());
    EXPECT_TRUE(link_key("library/alpine", p.digest).empty());
}

TEST(Keys, InvalidNamesGiveNoLinkKey) {
    const Digest d = parsed(sha256_text);
    for (const char* name : {"", "A", "a//b", "../a", "a/", "a b"}) {
        EXPECT_TRUE(link_key(name, d).empty()) << name;
    }
    EXPECT_TRUE(link_key(std::string("a\0b", 3), d).empty());
    EXPECT_TRUE(link_key(std::string(256, 'a'), d).empty());
    // The descriptor key does not depend on the name.
    EXPECT_FALSE(descriptor_key(d).empty());
}

TEST(Keys, HandMadeDigestsAreCheckedAgain) {
    // A Digest is a plain struct: the key must not trust fields that disagree.
    const std::string encoded(64, 'a');
    Digest wrong_name{DigestAlgorithm::sha256, "sha512", encoded};
    EXPECT_TRUE(descriptor_key(wrong_name).empty());
    Digest wrong_length{DigestAlgorithm::sha512, "sha512", encoded};
    EXPECT_TRUE(descriptor_key(wrong_length).empty());
    const std::string upper(64, 'A');
    Digest not_hex{DigestAlgorithm::sha256, "sha256", upper};
    EXPECT_TRUE(descriptor_key(not_hex).empty());
    EXPECT_TRUE(link_key("a", not_hex).empty());
    // Hex is judged pair by pair as it becomes bytes: a bad byte anywhere, of either half.
    for (std::size_t at : {std::size_t{0}, std::size_t{1}, std::size_t{62}, std::size_t{63}}) {
        for (char bad : {'g', 'A', 'F', '\0', ':', '/'}) {
            std::string text(64, 'a');
            text[at] = bad;
            Digest d{DigestAlgorithm::sha256, "sha256", text};
            EXPECT_TRUE(link_key("a", d).empty()) << at << " " << int(bad);
        }
    }
    Digest bad_encoding_status = parse_digest("sha256:abc").digest;
    EXPECT_TRUE(descriptor_key(bad_encoding_status).empty());
}

TEST(Keys, LongestNameWithSha512Fits) {
    const std::string name(max_name_length, 'a');
    Key key = link_key(name, parsed(sha512_text));
    ASSERT_FALSE(key.empty());
    EXPECT_EQ(key.view(), name + '\0' + '\x03' + std::string(64, '\xcc'));
    // Room is left for a namespace: its mark, its bytes and its NUL.
    EXPECT_EQ(descriptor_key(parsed(sha512_text)).view().size() + max_name_length + 1 + 1 + max_stored_namespace_length + 1,
              max_key_length);
    EXPECT_LE(max_key_length, 511u) << "LMDB's default maximum key size";
}

}  // namespace
}  // namespace registry_cache
