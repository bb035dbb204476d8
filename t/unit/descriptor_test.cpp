// Media type grammar and the byte format of the LMDB records.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/descriptor.h"

namespace registry_cache {
namespace {

TEST(MediaType, AcceptsWellFormed) {
    for (const char* m : {"application/octet-stream",
                          "application/vnd.oci.image.layer.v1.tar+gzip",
                          "application/vnd.docker.distribution.manifest.v2+json",
                          "application/vnd.docker.image.rootfs.diff.tar.gzip",
                          "text/plain; charset=utf-8", "text/plain;charset=utf-8",
                          "text/plain ; charset=utf-8", "a/b; x=\"quoted value\"",
                          "a/b; x=\"with \\\" escape\"", "a/b; x=\"\"", "a/b;x=1;y=2",
                          "A/B", "0/9", "a/b!#$&^_.+-"}) {
        EXPECT_TRUE(is_valid_media_type(m)) << m;
    }
}

TEST(MediaType, RejectsMalformed) {
    for (const char* m : {"", "application", "application/", "/json", "a/b;", "a b/c", "a/b c",
                          "a/b/c", "-a/b", "a/-b", "a/b; x", "a/b; x=", "a/b; =1",
                          "a/b; x=\"open", "a/b; x=a b", "a/b; x=1;", "a/b ", " a/b",
                          "a/b;; x=1", "a/b; x=\"\\", "a@b/c", "a/b; x=(1)"}) {
        EXPECT_FALSE(is_valid_media_type(m)) << m;
    }
}

TEST(MediaType, RejectsControlAndNonAsciiBytes) {
    for (std::string m : {std::string("a/b\r\nX-Evil: 1"), std::string("a/b\n"),
                          std::string("a/b\r"), std::string("a/b\0", 4),
                          std::string("a/b; x=\"\x01\""), std::string("a/b; x=\"\t\""),
                          std::string("a/b\x7f"), std::string("a/b; x=\"\xc3\xa9\""),
                          std::string("a/\xc3\xa9")}) {
        EXPECT_FALSE(is_valid_media_type(m)) << m;
    }
}

TEST(MediaType, LengthLimits) {
    // 255 bytes in total is the most that may be stored.
    std::string at_limit = "a/" + std::string(127, 'b') + "; x=" + std::string(122, 'c');
    ASSERT_EQ(at_limit.size(), 255u);
    EXPECT_TRUE(is_valid_media_type(at_limit));
    EXPECT_FALSE(is_valid_media_type(at_limit + "c"));

    // Each restricted-name is at most 127 bytes.
    EXPECT_TRUE(is_valid_media_type(std::string(127, 'a') + "/b"));
    EXPECT_FALSE(is_valid_media_type(std::string(128, 'a') + "/b"));
    EXPECT_TRUE(is_valid_media_type("a/" + std::string(127, 'b')));
    EXPECT_FALSE(is_valid_media_type("a/" + std::string(128, 'b')));
}

TEST(MediaType, AssignKeepsOnlyValidText) {
    MediaType m;
    EXPECT_TRUE(m.assign("application/json"));
    EXPECT_EQ(m.view(), "application/json");
    EXPECT_FALSE(m.assign("a/b\r\nX: y"));
    EXPECT_TRUE(m.view().empty());

    std::string longest = "a/" + std::string(127, 'b') + "; x=" + std::string(122, 'c');
    EXPECT_TRUE(m.assign(longest));
    EXPECT_EQ(m.view(), longest);
}

BlobDescriptor sample_descriptor() {
    BlobDescriptor d;
    d.size = 0x0102030405060708ull;
    d.stored_at = 1700000000;
    EXPECT_TRUE(d.media_type.assign("application/vnd.oci.image.layer.v1.tar+gzip"));
    return d;
}

TEST(Record, DescriptorLayoutIsLittleEndianAfterTheVersion) {
    BlobDescriptor d;
    d.size = 0x0102030405060708ull;
    d.stored_at = 0x1122334455667788ull;
    ASSERT_TRUE(d.media_type.assign("a/b"));
    const std::string expected =
        std::string("\x01", 1) + "\x08\x07\x06\x05\x04\x03\x02\x01" +
        "\x88\x77\x66\x55\x44\x33\x22\x11" + "\x03" + "a/b";
    EXPECT_EQ(encode(d), expected);
}

TEST(Record, LinkLayout) {
    BlobLink l;
    l.scope = LinkScope::credentialed;
    l.stored_at = 0x1122334455667788ull;
    EXPECT_EQ(encode(l), std::string("\x01\x02\x88\x77\x66\x55\x44\x33\x22\x11", 10));
}

TEST(Record, DescriptorRoundTrip) {
    const BlobDescriptor d = sample_descriptor();
    BlobDescriptor out;
    ASSERT_EQ(decode(encode(d), out), DecodeStatus::ok);
    EXPECT_EQ(out.size, d.size);
    EXPECT_EQ(out.stored_at, d.stored_at);
    EXPECT_EQ(out.media_type.view(), d.media_type.view());

    BlobDescriptor extremes;
    extremes.size = static_cast<std::uint64_t>(INT64_MAX);  // the largest off_t
    extremes.stored_at = 0;
    ASSERT_TRUE(extremes.media_type.assign("a/" + std::string(127, 'b') + "; x=" +
                                           std::string(122, 'c')));
    ASSERT_EQ(decode(encode(extremes), out), DecodeStatus::ok);
    EXPECT_EQ(out.size, static_cast<std::uint64_t>(INT64_MAX));
    EXPECT_EQ(out.stored_at, 0u);
    EXPECT_EQ(out.media_type.view(), extremes.media_type.view());
}

TEST(Record, LinkRoundTrip) {
    for (LinkScope scope : {LinkScope::public_access, LinkScope::credentialed}) {
        BlobLink l;
        l.scope = scope;
        l.stored_at = 0xfedcba9876543210ull;
        BlobLink out;
        out.scope = scope == LinkScope::public_access ? LinkScope::credentialed
                                                      : LinkScope::public_access;
        ASSERT_EQ(decode(encode(l), out), DecodeStatus::ok);
        EXPECT_EQ(out.scope, scope);
        EXPECT_EQ(out.stored_at, l.stored_at);
    }
}

TEST(Record, DecodesFromUnalignedBytes) {
    const std::string bytes = encode(sample_descriptor());
    std::string shifted = "x" + bytes;
    BlobDescriptor out;
    ASSERT_EQ(decode(std::string_view(shifted).substr(1), out), DecodeStatus::ok);
    EXPECT_EQ(out.size, sample_descriptor().size);
}

TEST(Record, TruncatedAtEveryLengthIsDamaged) {
    const std::string descriptor = encode(sample_descriptor());
    for (std::size_t n = 0; n < descriptor.size(); ++n) {
        BlobDescriptor out;
        EXPECT_EQ(decode(std::string_view(descriptor).substr(0, n), out), DecodeStatus::damaged)
            << n;
        EXPECT_EQ(out.size, 0u) << "a failed decode must leave the output alone";
    }
    BlobLink l;
    l.stored_at = 42;
    const std::string link = encode(l);
    for (std::size_t n = 0; n < link.size(); ++n) {
        BlobLink out;
        EXPECT_EQ(decode(std::string_view(link).substr(0, n), out), DecodeStatus::damaged) << n;
        EXPECT_EQ(out.stored_at, 0u);
    }
}

TEST(Record, UnknownVersion) {
    for (char version : {'\x00', '\x02', '\xff'}) {
        std::string descriptor = encode(sample_descriptor());
        descriptor[0] = version;
        BlobDescriptor d;
        EXPECT_EQ(decode(descriptor, d), DecodeStatus::unknown_version);
        // Whatever follows an unknown version is not judged: a later format may be shorter.
        EXPECT_EQ(decode(descriptor.substr(0, 1), d), DecodeStatus::unknown_version);

        std::string link = encode(BlobLink{});
        link[0] = version;
        BlobLink l;
        EXPECT_EQ(decode(link, l), DecodeStatus::unknown_version);
    }
}

TEST(Record, TrailingBytesAreDamage) {
    BlobDescriptor d;
    EXPECT_EQ(decode(encode(sample_descriptor()) + "x", d), DecodeStatus::damaged);
    EXPECT_EQ(decode(encode(sample_descriptor()) + std::string(1, '\0'), d),
              DecodeStatus::damaged);
    BlobLink l;
    EXPECT_EQ(decode(encode(BlobLink{}) + "x", l), DecodeStatus::damaged);
}

TEST(Record, InvalidMediaTypeIsDamage) {
    // Forged by hand: encode() cannot be given an invalid media type.
    auto forge = [](const std::string& media_type) {
        return std::string("\x01", 1) + std::string(16, '\0') +
               static_cast<char>(media_type.size()) + media_type;
    };
    BlobDescriptor d;
    ASSERT_EQ(decode(forge("a/b"), d), DecodeStatus::ok);
    EXPECT_EQ(decode(forge("a/b\r\nX-Evil: 1"), d), DecodeStatus::damaged);
    EXPECT_EQ(decode(forge("application"), d), DecodeStatus::damaged);
    EXPECT_EQ(decode(forge(""), d), DecodeStatus::damaged);
    EXPECT_EQ(d.media_type.view(), "a/b") << "a failed decode must leave the output alone";
}

TEST(Record, LengthByteDisagreeingWithTheRecordIsDamage) {
    std::string bytes = encode(sample_descriptor());
    BlobDescriptor d;
    bytes[17] = static_cast<char>(bytes[17] + 1);
    EXPECT_EQ(decode(bytes, d), DecodeStatus::damaged);
    bytes[17] = static_cast<char>(bytes[17] - 2);
    EXPECT_EQ(decode(bytes, d), DecodeStatus::damaged);
}

TEST(Record, UnknownLinkScopeIsDamage) {
    BlobLink l;
    for (char scope : {'\x00', '\x03', '\xff'}) {
        std::string bytes = encode(BlobLink{});
        bytes[1] = scope;
        EXPECT_EQ(decode(bytes, l), DecodeStatus::damaged) << int(scope);
    }
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

TEST(Record, SizeBeyondOffTIsDamage) {
    // nginx sends Content-Length as a signed off_t: a larger size was never written by us.
    BlobDescriptor d;
    ASSERT_TRUE(d.media_type.assign("a/b"));
    d.size = static_cast<std::uint64_t>(INT64_MAX);
    BlobDescriptor out;
    EXPECT_EQ(decode(encode(d), out), DecodeStatus::ok);
    d.size += 1;
    EXPECT_EQ(decode(encode(d), out), DecodeStatus::damaged);
}

}  // namespace
}  // namespace registry_cache
