// registry_cache_use_stale: which failures allow an answer the upstream did not confirm.
#include <gtest/gtest.h>

#include "registry_cache/policy/stale.h"
#include "registry_cache/policy/link_age.h"

namespace registry_cache {
namespace {

UpstreamOutcome answered(int status) {
    UpstreamOutcome o;
    o.answered = true;
    o.status = status;
    return o;
}

UpstreamOutcome no_answer(bool timed_out) {
    UpstreamOutcome o;
    o.timed_out = timed_out;
    return o;
}

TEST(Stale, OnlyTheFailuresNamed) {
    const unsigned some = stale_error | stale_http_503;
    EXPECT_TRUE(may_serve_stale(some, no_answer(false)));
    EXPECT_FALSE(may_serve_stale(some, no_answer(true)));
    EXPECT_TRUE(may_serve_stale(some, answered(503)));
    EXPECT_FALSE(may_serve_stale(some, answered(502)));
    EXPECT_FALSE(may_serve_stale(some, answered(429)));
    EXPECT_TRUE(may_serve_stale(stale_timeout, no_answer(true)));
    EXPECT_TRUE(may_serve_stale(stale_http_429, answered(429)));
}

TEST(Stale, UpdatingIsNoFailure) {
    EXPECT_FALSE(may_serve_stale(stale_updating, no_answer(false)));
    EXPECT_FALSE(may_serve_stale(stale_updating, no_answer(true)));
    for (int status : {429, 500, 502, 503, 504}) EXPECT_FALSE(may_serve_stale(stale_updating, answered(status)));
    EXPECT_TRUE(may_serve_stale(stale_updating | stale_error, no_answer(false)));
}

TEST(Stale, NeverForWhatTheUpstreamSaysIsGoneOrForAnAnswer) {
    const unsigned all = stale_error | stale_timeout | stale_http_429 | stale_http_500 | stale_http_502 |
                         stale_http_503 | stale_http_504;
    for (int status : {200, 201, 304, 401, 403, 404, 410, 501, 505}) {
        EXPECT_FALSE(may_serve_stale(all, answered(status))) << status;
    }
    EXPECT_FALSE(may_serve_stale(all | stale_off, no_answer(false))) << "off wins";
    EXPECT_FALSE(may_serve_stale(0, no_answer(false)));
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

TEST(OutcomeOf, TheUpstreamsAnswerNginxsFailureOrNothingToJudge) {
    UpstreamOutcome o;
    ASSERT_TRUE(outcome_of(503, 503, o));
    EXPECT_TRUE(o.answered);
    EXPECT_EQ(o.status, 503);
    ASSERT_TRUE(outcome_of(0, 502, o));
    EXPECT_FALSE(o.answered);
    EXPECT_FALSE(o.timed_out);
    ASSERT_TRUE(outcome_of(0, 504, o));
    EXPECT_TRUE(o.timed_out);
    ASSERT_TRUE(outcome_of(200, 502, o)) << "broke after its status line: no answer";
    EXPECT_FALSE(o.answered);
    ASSERT_TRUE(outcome_of(200, 504, o));
    EXPECT_TRUE(o.timed_out);
    EXPECT_FALSE(outcome_of(503, 200, o)) << "an error_page's answer goes out: nothing to judge";
    EXPECT_FALSE(outcome_of(0, 500, o));
}

TEST(LinkAge, ALinkIsConfirmedAgainOnceAsOldAsTheTtlNeverWithoutOne) {
    EXPECT_FALSE(link_expired(1000, 1059, 60));
    EXPECT_TRUE(link_expired(1000, 1060, 60));
    EXPECT_TRUE(link_expired(0, 1060, 60)) << "a record of unknown age is old";
    EXPECT_FALSE(link_expired(1000, 999999, 0)) << "ttl 0: never";
    EXPECT_FALSE(link_expired(1200, 1000, 60)) << "a little ahead of the clock: just learned";
    EXPECT_TRUE(link_expired(1000 + link_clock_slack + 1, 1000, 60)) << "the clock was set back: confirm it";
}

}  // namespace
}  // namespace registry_cache
