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

TEST(Confirmation, ManifestsAndTagsNeedTheDigestHeld) {
    EXPECT_TRUE(confirms_held(false, 200, held, held));
    EXPECT_FALSE(confirms_held(false, 200, other, held));
    EXPECT_FALSE(confirms_held(false, 200, "", held));  // which manifest is it?
    EXPECT_FALSE(confirms_held(false, 307, "", held));
    EXPECT_FALSE(confirms_held(false, 404, held, held));
}

TEST(Confirmation, BlobsAlsoByTheirStorageOrItsRedirect) {
    EXPECT_TRUE(confirms_held(true, 200, held, held));
    EXPECT_TRUE(confirms_held(true, 200, "", held));  // the storage's answer, redirect followed
    EXPECT_FALSE(confirms_held(true, 200, other, held));
    for (int status : {302, 303, 307}) EXPECT_TRUE(confirms_held(true, status, "", held)) << status;
    for (int status : {301, 308}) EXPECT_FALSE(confirms_held(true, status, "", held)) << status;
    for (int status : {401, 403, 404, 429, 500, 502}) EXPECT_FALSE(confirms_held(true, status, held, held)) << status;
}

}  // namespace
