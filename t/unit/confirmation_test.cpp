#include "registry_cache/policy/confirmation.h"

#include <gtest/gtest.h>

namespace {

using registry_cache::confirms_held;
using registry_cache::is_redirect;

constexpr std::string_view held = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr std::string_view other = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

TEST(Confirmation, RedirectsAreTheFiveStatuses) {
    for (int status : {301, 302, 303, 307, 308}) EXPECT_TRUE(is_redirect(status)) << status;
    for (int status : {200, 204, 300, 304, 305, 306, 309, 404}) EXPECT_FALSE(is_redirect(status)) << status;
}

registry_cache::HeadAnswer answer(int status, std::string_view digest = {}, long long length = -1,
                                  bool after_redirect = false) {
    registry_cache::HeadAnswer a;
    a.status = status;
    a.digest = digest;
    a.content_length = length;
    a.after_redirect = after_redirect;
    return a;
}

TEST(Confirmation, ManifestsAndTagsNeedTheDigestHeld) {
    EXPECT_TRUE(confirms_held(false, answer(200, held), held, 10));
    EXPECT_FALSE(confirms_held(false, answer(200, other), held, 10));
    EXPECT_FALSE(confirms_held(false, answer(200, "", 10, true), held, 10));  // which manifest is it?
    EXPECT_FALSE(confirms_held(false, answer(307), held, 10));
    EXPECT_FALSE(confirms_held(false, answer(404, held), held, 10));
}

TEST(Confirmation, BlobsAlsoByTheirStorageOrItsRedirect) {
    EXPECT_TRUE(confirms_held(true, answer(200, held), held, 10));
    // The storage's answer behind the registry's redirect: the blob's length.
    EXPECT_TRUE(confirms_held(true, answer(200, "", 10, true), held, 10));
    EXPECT_FALSE(confirms_held(true, answer(200, other, 10, true), held, 10));
    // A redirect not followed: where to look (a login page, for a session that ran out).
    for (int status : {301, 302, 303, 307, 308}) EXPECT_FALSE(confirms_held(true, answer(status), held, 10)) << status;
    for (int status : {401, 403, 404, 429, 500, 502}) {
        EXPECT_FALSE(confirms_held(true, answer(status, held), held, 10)) << status;
    }
}

TEST(Confirmation, A200NamingNoDigestIsNoBlobButBehindARedirectWithItsLength) {
    // A registry's own 200 to anything (no redirect before it).
    EXPECT_FALSE(confirms_held(true, answer(200, "", 10, false), held, 10));
    // A login page a session that ran out is redirected to: another length, or none.
    EXPECT_FALSE(confirms_held(true, answer(200, "", 20, true), held, 10));
    EXPECT_FALSE(confirms_held(true, answer(200, "", -1, true), held, 10));
    // A held size not known confirms nothing by length.
    EXPECT_FALSE(confirms_held(true, answer(200, "", -1, true), held, -1));
}

}  // namespace
