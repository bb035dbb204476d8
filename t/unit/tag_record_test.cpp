// The record of a tag: what it named, as which type, since when, for whom.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/tag_record.h"

namespace registry_cache {
namespace {

const std::string sha256 = "sha256:0123456789abcdef" + std::string(48, 'f');
const std::string sha512 = "sha512:" + std::string(128, 'e');

TagRecord sample(const std::string& digest, const char* media_type) {
    TagRecord r;
    r.scope = LinkScope::credentialed;
    r.stored_at = 0x1122334455667788ull;
    EXPECT_TRUE(r.digest.assign(digest));
    EXPECT_TRUE(r.media_type.assign(media_type));
    return r;
}

TEST(TagRecord, RoundTripsEveryAlgorithmAndBothKindsOfMediaType) {
    for (const std::string& digest : {sha256, std::string("sha384:") + std::string(96, '9'), sha512}) {
        for (const char* type : {"application/vnd.oci.image.index.v1+json", "application/x-vendor+json"}) {
            const TagRecord r = sample(digest, type);
            const std::string bytes = encode(r);
            ASSERT_FALSE(bytes.empty());
            TagRecord out;
            ASSERT_EQ(decode(bytes, out), DecodeStatus::ok) << digest << " " << type;
            EXPECT_EQ(out.digest.view(), digest);
            EXPECT_EQ(out.media_type.view(), type);
            EXPECT_EQ(out.stored_at, r.stored_at);
            EXPECT_EQ(out.scope, LinkScope::credentialed);
            EXPECT_FALSE(out.learned_naming_list);
        }
    }
    TagRecord named = sample(sha256, "application/vnd.docker.distribution.manifest.list.v2+json");
    named.learned_naming_list = true;
    named.size = 4 * 1024 * 1024;
    TagRecord out;
    ASSERT_EQ(decode(encode(named), out), DecodeStatus::ok);
    EXPECT_TRUE(out.learned_naming_list);
    EXPECT_EQ(out.size, 4u * 1024 * 1024);
}

// A record written before the flags (version 1) reads as learned from a client that may not
// have named the list type: it answers only such clients until it is learned again.
TEST(TagRecord, VersionOneReadsAsNotNamingTheList) {
    const std::string v1 = std::string("\x01\x02", 2) + "\x88\x77\x66\x55\x44\x33\x22\x11" + "\x01" +
                           std::string("\x01\x23\x45\x67\x89\xab\xcd\xef", 8) + std::string(24, '\xff') + "\x0e";
    TagRecord out;
    out.learned_naming_list = true;
    ASSERT_EQ(decode(v1, out), DecodeStatus::ok);
    EXPECT_EQ(out.digest.view(), sha256);
    EXPECT_EQ(out.media_type.view(), "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(out.stored_at, 0x1122334455667788ull);
    EXPECT_EQ(out.scope, LinkScope::credentialed);
    EXPECT_FALSE(out.learned_naming_list);
    EXPECT_EQ(out.size, 0u);
}

TEST(TagRecord, LayoutIsTheDigestsBytes) {
    TagRecord r = sample(sha256, "application/vnd.oci.image.index.v1+json");
    r.learned_naming_list = true;
    r.size = 0x0102;
    const std::string bytes = encode(r);
    const std::string expected = std::string("\x02\x02\x01", 3) + "\x88\x77\x66\x55\x44\x33\x22\x11" +
                                 std::string("\x02\x01\0\0\0\0\0\0", 8) +
                                 "\x01" + std::string("\x01\x23\x45\x67\x89\xab\xcd\xef", 8) +
                                 std::string(24, '\xff') + "\x0e";
    EXPECT_EQ(bytes, expected);
}

TEST(TagRecord, OnlyDigestsTheCacheStores) {
    DigestText d;
    EXPECT_FALSE(d.assign("blake3:" + std::string(64, 'a')));
    EXPECT_FALSE(d.assign("sha256:abc"));
    EXPECT_FALSE(d.assign("sha256:" + std::string(64, 'A')));
    EXPECT_TRUE(d.view().empty());
    EXPECT_TRUE(encode(TagRecord{}).empty()) << "a record without a digest is not written";
}

TEST(TagRecord, DamageIsDamageAndTheUnknownIsAMiss) {
    const std::string good = encode(sample(sha512, "a/b"));
    TagRecord out;
    for (std::size_t n = 0; n < good.size(); ++n) {
        EXPECT_EQ(decode(std::string_view(good).substr(0, n), out), DecodeStatus::damaged) << n;
    }
    EXPECT_EQ(decode(good + "x", out), DecodeStatus::damaged);
    std::string bad = good;
    bad[1] = '\x07';  // no such scope
    EXPECT_EQ(decode(bad, out), DecodeStatus::damaged);
    bad = good;
    bad[19] = '\x09';  // no such algorithm
    EXPECT_EQ(decode(bad, out), DecodeStatus::damaged);
    bad = good;
    bad[2] = '\x02';  // a flag of a later version
    EXPECT_EQ(decode(bad, out), DecodeStatus::unknown_version);
    bad = good;
    bad[0] = '\x03';
    EXPECT_EQ(decode(bad, out), DecodeStatus::unknown_version);
    EXPECT_TRUE(out.digest.view().empty()) << "a failed decode leaves the output alone";

    std::string later = encode(sample(sha256, "application/vnd.oci.image.index.v1+json"));
    later.back() = '\xc8';  // a media code of a longer table
    EXPECT_EQ(decode(later, out), DecodeStatus::unknown_version);
}

}  // namespace
}  // namespace registry_cache
