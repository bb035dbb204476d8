// Mirror mode's tokens: the token service's answer read as distribution's client reads it,
// never a token that could break out of its header, and the table the workers share: one
// fetch per scope at a time, a token used until its end less the margin, forgotten only if
// it is still the one the upstream refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "registry_cache/auth/upstream_token.h"
#include "registry_cache/rfc3339.h"

namespace {

using namespace registry_cache::auth;
using registry_cache::parse_rfc3339;

constexpr std::int64_t now = 1'800'000'000;  // 2027-01-15T08:00:00Z

TEST(UpstreamToken, ScopeAndKey) {
    EXPECT_EQ(pull_scope("library/alpine"), "repository:library/alpine:pull");
    EXPECT_EQ(upstream_token_key("/_token?service=hub", "repository:a:pull"),
              std::string("/_token?service=hub\0repository:a:pull", 37));
    EXPECT_EQ(upstream_token_key(std::string(300, 'r'), std::string(300, 's')), "");
}

TEST(UpstreamToken, Rfc3339) {
    std::int64_t t = 0;
    ASSERT_TRUE(parse_rfc3339("2027-01-15T08:00:00Z", t));
    EXPECT_EQ(t, now);
    ASSERT_TRUE(parse_rfc3339("2027-01-15T09:00:00.123456+01:00", t));
    EXPECT_EQ(t, now);
    ASSERT_TRUE(parse_rfc3339("2027-01-15T07:30:00-00:30", t));
    EXPECT_EQ(t, now);
    for (const char* bad : {"", "2027-01-15", "2027-01-15T08:00:00", "2027-13-15T08:00:00Z", "2027-01-15T08:00:00.Z",
                            "2027-01-15T08:00:00+0100", "2027-01-15 08:00:00Z", "x027-01-15T08:00:00Z",
                            "2027-01-15T08:00:00Zjunk"}) {
        EXPECT_FALSE(parse_rfc3339(bad, t)) << bad;
    }
}

TEST(UpstreamToken, AnAnswerIsReadAsDistributionsClientReadsIt) {
    TokenAnswer a;
    std::string why;
    ASSERT_TRUE(read_token_answer(R"({"token":"a.b.c","expires_in":300,"issued_at":"2027-01-15T07:59:00Z"})", now, a,
                                  why)) << why;
    EXPECT_EQ(a.token, "a.b.c");
    EXPECT_EQ(a.usable_until, now - 60 + 300 - 60);  // from issued_at, less a minute
    ASSERT_TRUE(read_token_answer(R"({"access_token":"x.y.z"})", now, a, why)) << why;
    EXPECT_EQ(a.token, "x.y.z");
    EXPECT_EQ(a.usable_until, now + 60 - 12);  // 60 s when absent, less a fifth
    ASSERT_TRUE(read_token_answer(R"({"token":"","access_token":"x.y.z","expires_in":10})", now, a, why));
    EXPECT_EQ(a.token, "x.y.z");
    EXPECT_EQ(a.usable_until, now + 60 - 12);  // never less than 60 s
    // An issued_at in the future (the service's clock ahead) or unreadable counts from now.
    ASSERT_TRUE(read_token_answer(R"({"token":"t","expires_in":600,"issued_at":"2030-01-01T00:00:00Z"})", now, a, why));
    EXPECT_EQ(a.usable_until, now + 600 - 60);
    ASSERT_TRUE(read_token_answer(R"({"token":"t","expires_in":600,"issued_at":"yesterday"})", now, a, why));
    EXPECT_EQ(a.usable_until, now + 600 - 60);
}

TEST(UpstreamToken, NothingThatCouldLeaveItsHeaderIsAToken) {
    TokenAnswer a;
    std::string why;
    for (const char* bad : {R"({"token":"a.b\r\nX-Injected: 1"})", R"({"token":"a b"})", R"({"token":"a\u0000b"})",
                            R"({"token":"a\"b"})", R"({"token":""})", R"({"token":7})", R"({})", R"([])", "not json",
                            R"({"token":"a","expires_in":"300"})", R"({"token":"é"})"}) {
        EXPECT_FALSE(read_token_answer(bad, now, a, why)) << bad;
        EXPECT_TRUE(a.token.empty()) << bad;
    }
    EXPECT_FALSE(read_token_answer("{\"token\":\"" + std::string(max_token_size + 1, 'a') + "\"}", now, a, why));
    EXPECT_TRUE(read_token_answer("{\"token\":\"" + std::string(max_token_size, 'a') + "\"}", now, a, why));
}

TEST(UpstreamToken, OneFetchPerKeyAtATime) {
    auto table = std::make_unique<UpstreamTokenTable>();
    const std::string key = upstream_token_key("/_token", "repository:a:pull");
    std::string token;
    EXPECT_EQ(token_turn(*table, key, now, 30, token), TokenTurn::fetch);
    EXPECT_EQ(token_turn(*table, key, now + 1, 30, token), TokenTurn::wait);
    // Another scope is fetched on its own.
    EXPECT_EQ(token_turn(*table, upstream_token_key("/_token", "repository:b:pull"), now, 30, token), TokenTurn::fetch);
    keep_token(*table, key, "tok-1", now + 100, now + 2);
    EXPECT_EQ(token_turn(*table, key, now + 3, 30, token), TokenTurn::use);
    EXPECT_EQ(token, "tok-1");
    EXPECT_EQ(token_turn(*table, key, now + 99, 30, token), TokenTurn::use);
    // At its end the next request fetches, the others wait for it.
    EXPECT_EQ(token_turn(*table, key, now + 100, 30, token), TokenTurn::fetch);
    EXPECT_EQ(token_turn(*table, key, now + 101, 30, token), TokenTurn::wait);
    // A fetch whose client left frees the key at once; one that never ends, after its timeout.
    fetch_abandoned(*table, key);
    EXPECT_EQ(token_turn(*table, key, now + 102, 30, token), TokenTurn::fetch);
    EXPECT_EQ(token_turn(*table, key, now + 131, 30, token), TokenTurn::wait);
    EXPECT_EQ(token_turn(*table, key, now + 132, 30, token), TokenTurn::fetch);
}

TEST(UpstreamToken, AnInvalidTokenIsForgottenOnlyIfStillHeld) {
    auto table = std::make_unique<UpstreamTokenTable>();
    const std::string key = upstream_token_key("/_token", "repository:a:pull");
    std::string token;
    keep_token(*table, key, "old", now + 100, now);
    keep_token(*table, key, "new", now + 200, now + 1);  // another worker renewed it
    EXPECT_FALSE(forget_token(*table, key, "old"));
    EXPECT_EQ(token_turn(*table, key, now + 2, 30, token), TokenTurn::use);
    EXPECT_EQ(token, "new");
    EXPECT_TRUE(forget_token(*table, key, "new"));
    EXPECT_EQ(token_turn(*table, key, now + 3, 30, token), TokenTurn::fetch);
    // A token that ends before it is kept is not kept.
    keep_token(*table, key, "late", now + 3, now + 4);
    EXPECT_EQ(token_turn(*table, key, now + 4, 30, token), TokenTurn::fetch);
}

TEST(UpstreamToken, AFullTableGivesUpTheSlotThatEndsFirst) {
    auto table = std::make_unique<UpstreamTokenTable>();
    std::string token;
    for (std::size_t i = 0; i < upstream_token_slots; ++i) {
        keep_token(*table, upstream_token_key("/t", "s" + std::to_string(i)), "tok", now + 1000 + std::int64_t(i), now);
    }
    keep_token(*table, upstream_token_key("/t", "new"), "tok-new", now + 5000, now);
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "new"), now, 30, token), TokenTurn::use);
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "s0"), now, 30, token), TokenTurn::fetch);  // evicted
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "s2"), now, 30, token), TokenTurn::use);
}

TEST(UpstreamToken, AFailedServiceIsLeftAloneForTheBackOffThenAskedAgain) {
    auto table = std::make_unique<UpstreamTokenTable>();
    const std::string a = upstream_token_key("/_token", "repository:a:pull");
    const std::string b = upstream_token_key("/_token", "repository:b:pull");
    const std::string held = upstream_token_key("/_token", "repository:held:pull");
    const std::string other = upstream_token_key("/_other", "repository:a:pull");
    std::string token;
    keep_token(*table, held, "tok-held", now + 1000, now);
    ASSERT_EQ(token_turn(*table, a, now, 30, token), TokenTurn::fetch);
    fetch_failed(*table, a, now, 5);
    // Neither that scope nor any other of the service is asked within the back-off; a token
    // already held is still used, and another service is asked as before.
    EXPECT_EQ(token_turn(*table, a, now + 1, 30, token), TokenTurn::without);
    EXPECT_EQ(token_turn(*table, b, now + 4, 30, token), TokenTurn::without);
    EXPECT_EQ(token_turn(*table, held, now + 4, 30, token), TokenTurn::use);
    EXPECT_EQ(token, "tok-held");
    EXPECT_EQ(token_turn(*table, other, now + 4, 30, token), TokenTurn::fetch);
    // After it, one request asks again, the others wait for it.
    EXPECT_EQ(token_turn(*table, b, now + 5, 30, token), TokenTurn::fetch);
    EXPECT_EQ(token_turn(*table, a, now + 5, 30, token), TokenTurn::fetch);
    EXPECT_EQ(token_turn(*table, b, now + 6, 30, token), TokenTurn::wait);
    // A token kept ends the back-off of a second failure at once.
    fetch_failed(*table, a, now + 6, 5);
    EXPECT_EQ(token_turn(*table, a, now + 7, 30, token), TokenTurn::without);
    keep_token(*table, b, "tok-b", now + 1000, now + 7);
    EXPECT_EQ(token_turn(*table, a, now + 8, 30, token), TokenTurn::fetch);
    // A fetch abandoned by its client is no failure of the service.
    fetch_abandoned(*table, a);
    EXPECT_EQ(token_turn(*table, a, now + 8, 30, token), TokenTurn::fetch);
}

TEST(UpstreamToken, AScopeTheServiceRefusesIsLeftAloneWithoutTheOthers) {
    auto table = std::make_unique<UpstreamTokenTable>();
    const std::string denied = upstream_token_key("/_token", "repository:x/deny:pull");
    const std::string other = upstream_token_key("/_token", "repository:demo/other:pull");
    std::string token;
    ASSERT_EQ(token_turn(*table, denied, now, 30, token), TokenTurn::fetch);
    fetch_failed(*table, denied, now, 5, TokenFailure::scope);
    EXPECT_EQ(token_turn(*table, denied, now + 1, 30, token), TokenTurn::without);
    EXPECT_EQ(token_turn(*table, other, now + 1, 30, token), TokenTurn::fetch);
    EXPECT_EQ(token_turn(*table, denied, now + 5, 30, token), TokenTurn::fetch);
}

TEST(UpstreamToken, AFullTableGivesUpScopeBackOffsBeforeTokensAndTokensBeforeTheServicesBackOff) {
    auto table = std::make_unique<UpstreamTokenTable>();
    std::string token;
    // The service's back-off first, then tokens and scope back-offs in every other slot.
    const std::string first = upstream_token_key("/t", "s0");
    ASSERT_EQ(token_turn(*table, first, now, 30, token), TokenTurn::fetch);
    fetch_failed(*table, first, now, 100);
    for (std::size_t i = 1; i < upstream_token_slots; ++i) {
        const std::string key = upstream_token_key("/u", "s" + std::to_string(i));
        if (i % 2 == 0) {
            keep_token(*table, key, "tok", now + 50, now);
        } else {
            ASSERT_EQ(token_turn(*table, key, now, 30, token), TokenTurn::fetch);
            fetch_failed(*table, key, now, 200, TokenFailure::scope);
        }
    }
    // New names take the scopes' back-offs, then the tokens; the service stays left alone.
    for (std::size_t i = 0; i < upstream_token_slots; ++i) {
        keep_token(*table, upstream_token_key("/v", "n" + std::to_string(i)), "tok-n", now + 1000, now + 1);
    }
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "another"), now + 2, 30, token), TokenTurn::without);
    EXPECT_EQ(token_turn(*table, upstream_token_key("/u", "s2"), now + 2, 30, token), TokenTurn::fetch)
        << "its token was given up";
}

TEST(UpstreamToken, AFloodOfNewScopesNeverTakesTheSlotOfAFetchInProgress) {
    auto table = std::make_unique<UpstreamTokenTable>();
    std::string token;
    for (std::size_t i = 0; i < upstream_token_slots; ++i) {
        ASSERT_EQ(token_turn(*table, upstream_token_key("/t", "s" + std::to_string(i)), now, 30, token),
                  TokenTurn::fetch);
    }
    // Every slot is a fetch in progress: a new scope waits rather than take one, and each
    // fetch still waits for its own answer.
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "new"), now + 1, 30, token), TokenTurn::wait);
    for (std::size_t i = 0; i < upstream_token_slots; ++i) {
        EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "s" + std::to_string(i)), now + 1, 30, token),
                  TokenTurn::wait);
    }
    // A failure's back-off slot is not made at another's fetch's cost either.
    fetch_failed(*table, upstream_token_key("/t", "s0"), now + 2, 5);
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "s1"), now + 3, 30, token), TokenTurn::wait);
    // Once one fetch ends with a token, it is used; claims that outlive their timeout free up.
    keep_token(*table, upstream_token_key("/t", "s1"), "tok-1", now + 100, now + 3);
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "s1"), now + 4, 30, token), TokenTurn::use);
    EXPECT_EQ(token_turn(*table, upstream_token_key("/t", "new"), now + 31, 30, token), TokenTurn::fetch);
}

}  // namespace
