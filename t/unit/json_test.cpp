// The strict JSON reader of tokens and JWK sets: what RFC 8259 allows, and nothing else.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/auth/base64.h"
#include "registry_cache/auth/json.h"

namespace {

using registry_cache::json::parse;
using registry_cache::json::Type;
using registry_cache::json::Value;

bool ok(const std::string& text) {
    Value v;
    std::string error;
    return parse(text, v, error);
}

TEST(Json, ReadsWhatTokensHold) {
    Value v;
    std::string error;
    ASSERT_TRUE(parse(R"( {"alg":"RS256","x5c":["MIIB","MIIC"],"exp":1796287978,"n":null,"b":true,
                         "s":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} )",
                      v, error))
        << error;
    ASSERT_EQ(v.type, Type::object);
    EXPECT_EQ(v.find("alg")->text, "RS256");
    EXPECT_EQ(v.find("x5c")->items.size(), 2u);
    std::int64_t exp = 0;
    EXPECT_TRUE(v.find("exp")->as_int64(exp));
    EXPECT_EQ(exp, 1796287978);
    EXPECT_EQ(v.find("n")->type, Type::null);
    EXPECT_TRUE(v.find("b")->boolean);
    EXPECT_EQ(v.find("s")->text, "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Json, RefusesEverythingElse) {
    for (const char* text : {
             "", " ", "{", "}", "{\"a\":1,}", "[1,]", "{\"a\":1 \"b\":2}", "{\"a\":1,\"a\":2}", "{a:1}",
             "'a'", "01", "1.", ".5", "-", "1e", "+1", "NaN", "tru", "nulll", "[1] [2]", "\"\x01\"",
             "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xc3\"", "\"\xc0\xaf\"",
             "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xff\"", "// c\n1", "[1]/**/",
         }) {
        EXPECT_FALSE(ok(text)) << text;
    }
}

TEST(Json, BoundsNestingAndMembers) {
    EXPECT_TRUE(ok(std::string(32, '[') + std::string(32, ']')));
    EXPECT_FALSE(ok(std::string(33, '[') + std::string(33, ']')));
    EXPECT_FALSE(ok(std::string(100000, '[')));  // no recursion without end
    std::string many = "{";
    for (int i = 0; i < 257; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
    EXPECT_FALSE(ok(many + "}"));
}

TEST(Json, IntegersOnlyAsInt64) {
    Value v;
    std::string error;
    std::int64_t n = 0;
    for (const char* text : {"1.5", "1e3", "9223372036854775808", "\"1\"", "true"}) {
        ASSERT_TRUE(parse(text, v, error)) << text;
        EXPECT_FALSE(v.as_int64(n)) << text;
    }
    ASSERT_TRUE(parse("-42", v, error));
    EXPECT_TRUE(v.as_int64(n));
    EXPECT_EQ(n, -42);
}

using registry_cache::auth::Base64;
using registry_cache::auth::base64_decode;
using registry_cache::auth::base64_encode;

TEST(Base64, RoundTripsBothAlphabets) {
    const std::string bytes("\x00\xfb\xff\x10 token", 10);
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
        for (Base64 kind : {Base64::url_unpadded, Base64::standard_padded}) {
            std::string back;
            const std::string text = base64_encode(bytes.substr(0, n), kind);
            ASSERT_TRUE(base64_decode(text, kind, back)) << text;
            EXPECT_EQ(back, bytes.substr(0, n));
        }
    }
    EXPECT_EQ(base64_encode("\xfb\xff", Base64::url_unpadded), "-_8");
    EXPECT_EQ(base64_encode("\xfb\xff", Base64::standard_padded), "+/8=");
}

TEST(Base64, OneTextOneReading) {
    std::string out;
    for (const char* text : {"QQ==", "QR", "Q", "-_8=", "+/8", "QQ=A", "a b", "Q==="}) {
        EXPECT_FALSE(base64_decode(text, Base64::url_unpadded, out)) << text;
    }
    for (const char* text : {"QQ", "QR==", "Q===", "-_8=", "QQ=A", "====", "QUJD="}) {
        EXPECT_FALSE(base64_decode(text, Base64::standard_padded, out)) << text;
    }
    EXPECT_EQ(registry_cache::auth::base32_encode("hello"), "NBSWY3DP");
}

}  // namespace
