// Media type grammar and the byte format of the LMDB records.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/descriptor.h"
#include "registry_cache/media_types.h"

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

LinkRecord sample_record() {
    LinkRecord r;
    r.scope = LinkScope::credentialed;
    r.size = 0x0102030405060708ull;
    r.stored_at = 1700000000;
    EXPECT_TRUE(r.media_type.assign("application/vnd.oci.image.layer.v1.tar+gzip"));
    return r;
}

TEST(Record, LayoutIsLittleEndianAfterTheVersionAndScope) {
    LinkRecord r;
    r.scope = LinkScope::credentialed;
    r.size = 0x0102030405060708ull;
    r.stored_at = 0x1122334455667788ull;
    ASSERT_TRUE(r.media_type.assign("a/b"));
    const std::string fixed = std::string("\x03\x02", 2) + "\x08\x07\x06\x05\x04\x03\x02\x01" +
                              "\x88\x77\x66\x55\x44\x33\x22\x11";
    // A media type outside the table: code 0, then its length and text.
    EXPECT_EQ(encode(r), fixed + std::string("\x00\x03", 2) + "a/b");
    // One of the table: its code alone.
    ASSERT_TRUE(r.media_type.assign("application/octet-stream"));
    EXPECT_EQ(encode(r), fixed + "\x01");
    ASSERT_TRUE(r.media_type.assign("application/vnd.oci.image.layer.v1.tar+gzip"));
    EXPECT_EQ(encode(r), fixed + "\x03");
}

TEST(Record, KnownMediaTypesTakeOneByte) {
    for (int code = 1; !known_media_type(static_cast<std::uint8_t>(code)).empty(); ++code) {
        const std::string_view text = known_media_type(static_cast<std::uint8_t>(code));
        EXPECT_TRUE(is_valid_media_type(text)) << text;
        EXPECT_EQ(known_media_type_code(text), code) << text << ": listed twice";
        LinkRecord r = sample_record();
        ASSERT_TRUE(r.media_type.assign(text));
        const std::string bytes = encode(r);
        EXPECT_EQ(bytes.size(), 19u) << text;
        LinkRecord out;
        ASSERT_EQ(decode(bytes, out), DecodeStatus::ok) << text;
        EXPECT_EQ(out.media_type.view(), text);
    }
    // Exact bytes only: another case or a parameter keeps the text the upstream sent.
    EXPECT_EQ(known_media_type_code("Application/Octet-Stream"), 0);
    EXPECT_EQ(known_media_type_code("application/octet-stream; charset=x"), 0);
    EXPECT_EQ(known_media_type(0), "");
}

// A record written by a later build whose table has more entries: readable only by it, so
// a miss (learned again), not damage.
TEST(Record, UnknownMediaTypeCodeIsAnUnknownVersion) {
    std::string bytes = encode(sample_record());
    LinkRecord out;
    for (int code : {200, 255}) {
        bytes[18] = static_cast<char>(code);
        EXPECT_EQ(decode(bytes, out), DecodeStatus::unknown_version) << code;
    }
    EXPECT_TRUE(out.media_type.view().empty());
}

TEST(Record, RoundTrip) {
    for (LinkScope scope : {LinkScope::public_access, LinkScope::credentialed}) {
        LinkRecord r = sample_record();
        r.scope = scope;
        LinkRecord out;
        out.scope = scope == LinkScope::public_access ? LinkScope::credentialed
                                                      : LinkScope::public_access;
        ASSERT_EQ(decode(encode(r), out), DecodeStatus::ok);
        EXPECT_EQ(out.scope, scope);
        EXPECT_EQ(out.size, r.size);
        EXPECT_EQ(out.stored_at, r.stored_at);
        EXPECT_EQ(out.media_type.view(), r.media_type.view());
    }

    LinkRecord extremes;
    extremes.size = static_cast<std::uint64_t>(INT64_MAX);  // the largest off_t
    extremes.stored_at = 0xfedcba9876543210ull;
    ASSERT_TRUE(extremes.media_type.assign("a/" + std::string(127, 'b') + "; x=" +
                                           std::string(122, 'c')));
    LinkRecord out;
    ASSERT_EQ(decode(encode(extremes), out), DecodeStatus::ok);
    EXPECT_EQ(out.size, static_cast<std::uint64_t>(INT64_MAX));
    EXPECT_EQ(out.stored_at, extremes.stored_at);
    EXPECT_EQ(out.media_type.view(), extremes.media_type.view());
}

TEST(Record, DecodesFromUnalignedBytes) {
    const std::string bytes = encode(sample_record());
    std::string shifted = "x" + bytes;
    LinkRecord out;
    ASSERT_EQ(decode(std::string_view(shifted).substr(1), out), DecodeStatus::ok);
    EXPECT_EQ(out.size, sample_record().size);
}

TEST(Record, TruncatedAtEveryLengthIsDamaged) {
    LinkRecord inline_type = sample_record();
    ASSERT_TRUE(inline_type.media_type.assign("application/x-vendor-layer"));
    for (const LinkRecord& r : {sample_record(), inline_type}) {
        const std::string record = encode(r);
        for (std::size_t n = 0; n < record.size(); ++n) {
            LinkRecord out;
            EXPECT_EQ(decode(std::string_view(record).substr(0, n), out), DecodeStatus::damaged)
                << n;
            EXPECT_EQ(out.size, 0u) << "a failed decode must leave the output alone";
            EXPECT_TRUE(out.media_type.view().empty());
        }
    }
}

TEST(Record, UnknownVersion) {
    for (char version : {'\x00', '\x02', '\x04', '\xff'}) {
        std::string record = encode(sample_record());
        record[0] = version;
        LinkRecord r;
        EXPECT_EQ(decode(record, r), DecodeStatus::unknown_version);
        // Whatever follows an unknown version is not judged: a later format may be shorter.
        EXPECT_EQ(decode(record.substr(0, 1), r), DecodeStatus::unknown_version);
        EXPECT_EQ(r.size, 0u);
    }
}

// Both kinds of record of the version 1 layout, byte for byte as that code wrote them: an
// old cache file's entries are misses (learned again), never damage and never a hit with
// fields read at the wrong offsets.
TEST(Record, VersionOneRecordsAreUnknown) {
    const std::string old_link("\x01\x01\x88\x77\x66\x55\x44\x33\x22\x11", 10);
    const std::string old_descriptor = std::string("\x01", 1) +
                                       "\x08\x07\x06\x05\x04\x03\x02\x01" +
                                       "\x88\x77\x66\x55\x44\x33\x22\x11" + "\x03" + "a/b";
    LinkRecord r;
    EXPECT_EQ(decode(old_link, r), DecodeStatus::unknown_version);
    EXPECT_EQ(decode(old_descriptor, r), DecodeStatus::unknown_version);
    EXPECT_EQ(r.size, 0u);
}

// The version 2 record (media type always as text), as that code wrote it.
TEST(Record, VersionTwoRecordsAreUnknown) {
    const std::string old = std::string("\x02\x01", 2) + "\x08\x07\x06\x05\x04\x03\x02\x01" +
                            "\x88\x77\x66\x55\x44\x33\x22\x11" + "\x03" + "a/b";
    LinkRecord r;
    EXPECT_EQ(decode(old, r), DecodeStatus::unknown_version);
    EXPECT_EQ(r.size, 0u);
}

TEST(Record, TrailingBytesAreDamage) {
    LinkRecord r;
    EXPECT_EQ(decode(encode(sample_record()) + "x", r), DecodeStatus::damaged);
    EXPECT_EQ(decode(encode(sample_record()) + std::string(1, '\0'), r), DecodeStatus::damaged);
    LinkRecord inline_type = sample_record();
    ASSERT_TRUE(inline_type.media_type.assign("a/b"));
    EXPECT_EQ(decode(encode(inline_type) + "x", r), DecodeStatus::damaged);
}

// A record of the current version forged by hand with any scope byte and media type:
// encode() cannot be given an invalid media type.
std::string forge(char scope, const std::string& media_type) {
    return std::string("\x03", 1) + scope + std::string(16, '\0') + std::string(1, '\0') +
           static_cast<char>(media_type.size()) + media_type;
}

TEST(Record, InvalidMediaTypeIsDamage) {
    LinkRecord r;
    ASSERT_EQ(decode(forge('\x01', "a/b"), r), DecodeStatus::ok);
    EXPECT_EQ(decode(forge('\x01', "a/b\r\nX-Evil: 1"), r), DecodeStatus::damaged);
    EXPECT_EQ(decode(forge('\x01', "application"), r), DecodeStatus::damaged);
    EXPECT_EQ(decode(forge('\x01', ""), r), DecodeStatus::damaged);
    EXPECT_EQ(r.media_type.view(), "a/b") << "a failed decode must leave the output alone";
}

TEST(Record, LengthByteDisagreeingWithTheRecordIsDamage) {
    LinkRecord inline_type = sample_record();
    ASSERT_TRUE(inline_type.media_type.assign("application/x-vendor-layer"));
    std::string bytes = encode(inline_type);
    LinkRecord r;
    ASSERT_EQ(bytes[18], '\0');
    bytes[19] = static_cast<char>(bytes[19] + 1);
    EXPECT_EQ(decode(bytes, r), DecodeStatus::damaged);
    bytes[19] = static_cast<char>(bytes[19] - 2);
    EXPECT_EQ(decode(bytes, r), DecodeStatus::damaged);
    // A text that the table holds, forged as text, is judged and read as any text.
    EXPECT_EQ(decode(forge('\x01', "application/octet-stream"), r), DecodeStatus::ok);
    EXPECT_EQ(r.media_type.view(), "application/octet-stream");
}

TEST(Record, UnknownLinkScopeIsDamage) {
    LinkRecord r;
    for (char scope : {'\x00', '\x03', '\xff'}) {
        EXPECT_EQ(decode(forge(scope, "a/b"), r), DecodeStatus::damaged) << int(scope);
    }
    EXPECT_EQ(r.media_type.view(), "") << "a failed decode must leave the output alone";
}

TEST(Record, SizeBeyondOffTIsDamage) {
    // nginx sends Content-Length as a signed off_t: a larger size was never written by us.
    LinkRecord r;
    ASSERT_TRUE(r.media_type.assign("a/b"));
    r.size = static_cast<std::uint64_t>(INT64_MAX);
    LinkRecord out;
    EXPECT_EQ(decode(encode(r), out), DecodeStatus::ok);
    r.size += 1;
    EXPECT_EQ(decode(encode(r), out), DecodeStatus::damaged);
}

}  // namespace
}  // namespace registry_cache
