// The memory of Basic credentials the upstream accepted: a credential proves only the
// repository it was accepted for, only until its time is up, and only whole; two memories
// (two locations, or a reload) share nothing.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/auth/credential_memory.h"

namespace {

using registry_cache::auth::CredentialMemory;

constexpr std::int64_t now = 1'800'000'000;

TEST(CredentialMemory, AnAcceptedCredentialProvesItsRepositoryUntilItsTimeIsUp) {
    CredentialMemory memory;
    EXPECT_FALSE(memory.proves("team/app", "YWxpY2U6c2VjcmV0", now));
    memory.remember("team/app", "YWxpY2U6c2VjcmV0", now, 30);
    EXPECT_TRUE(memory.proves("team/app", "YWxpY2U6c2VjcmV0", now));
    EXPECT_TRUE(memory.proves("team/app", "YWxpY2U6c2VjcmV0", now + 29));
    EXPECT_FALSE(memory.proves("team/app", "YWxpY2U6c2VjcmV0", now + 30));
    // Accepted again: its time starts again.
    memory.remember("team/app", "YWxpY2U6c2VjcmV0", now + 30, 30);
    EXPECT_TRUE(memory.proves("team/app", "YWxpY2U6c2VjcmV0", now + 59));
    EXPECT_EQ(memory.size(), 1u);
}

TEST(CredentialMemory, ProvesNothingForAnotherRepositoryOrAnotherCredential) {
    CredentialMemory memory;
    memory.remember("team/app", "YWxpY2U6c2VjcmV0", now, 30);
    EXPECT_FALSE(memory.proves("team/other", "YWxpY2U6c2VjcmV0", now));
    EXPECT_FALSE(memory.proves("team/app", "YWxpY2U6c2VjcmV1", now));
    EXPECT_FALSE(memory.proves("team/app", "YWxpY2U6c2VjcmV0A", now));
    EXPECT_FALSE(memory.proves("team/app", "YWxpY2U6c2VjcmV", now));
    EXPECT_FALSE(memory.proves("team/app", "", now));
    // The repository's end and the credential's start cannot trade bytes.
    memory.remember("a/b", "cd", now, 30);
    EXPECT_FALSE(memory.proves("a/bc", "d", now));
    EXPECT_FALSE(memory.proves("a/", "bcd", now));
}

TEST(CredentialMemory, NothingIsRememberedWithoutACredentialOrATime) {
    CredentialMemory memory;
    memory.remember("team/app", "", now, 30);
    memory.remember("team/app", "YWxpY2U6c2VjcmV0", now, 0);
    EXPECT_EQ(memory.size(), 0u);
    EXPECT_FALSE(memory.proves("team/app", "", now));
}

TEST(CredentialMemory, TwoMemoriesShareNothing) {
    CredentialMemory one, two;
    one.remember("team/app", "YWxpY2U6c2VjcmV0", now, 30);
    EXPECT_TRUE(one.proves("team/app", "YWxpY2U6c2VjcmV0", now));
    EXPECT_FALSE(two.proves("team/app", "YWxpY2U6c2VjcmV0", now));
}

TEST(CredentialMemory, AtItsBoundTheEndedGoFirstThenAll) {
    CredentialMemory memory;
    for (std::size_t i = 0; i < CredentialMemory::max_credentials; ++i) {
        memory.remember("team/app", "user" + std::to_string(i), now, i % 2 == 0 ? 10 : 100);
    }
    EXPECT_EQ(memory.size(), CredentialMemory::max_credentials);
    // At now + 10 half have ended: they make the room.
    memory.remember("team/app", "newcomer", now + 10, 100);
    EXPECT_EQ(memory.size(), CredentialMemory::max_credentials / 2 + 1);
    EXPECT_TRUE(memory.proves("team/app", "user1", now + 10));
    EXPECT_TRUE(memory.proves("team/app", "newcomer", now + 10));
    // None ended: all go but the newcomer.
    for (std::size_t i = 0; memory.size() < CredentialMemory::max_credentials; ++i) {
        memory.remember("team/more", "user" + std::to_string(i), now + 10, 100);
    }
    memory.remember("team/app", "last", now + 10, 100);
    EXPECT_EQ(memory.size(), 1u);
    EXPECT_TRUE(memory.proves("team/app", "last", now + 10));
    EXPECT_FALSE(memory.proves("team/app", "newcomer", now + 10));
}

}  // namespace
