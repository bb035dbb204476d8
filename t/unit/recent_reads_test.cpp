// The memory of recent reads: what was kept under a commit answers under that commit alone,
// for the same repository and reference alone, and never holds a large body.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/store/recent_reads.h"

namespace registry_cache::store {
namespace {

struct Found {
    int n = 0;
    std::string body;
};

TEST(RecentReadsTest, AReadAnswersAgainUnderItsCommitAlone) {
    RecentReads<Found> recent;
    EXPECT_EQ(recent.find(7, "a/one", "1.0"), nullptr);
    recent.keep(7, "a/one", "1.0", Found{1, "x"}, 1);
    const Found* kept = recent.find(7, "a/one", "1.0");
    ASSERT_NE(kept, nullptr);
    EXPECT_EQ(kept->n, 1);
    EXPECT_EQ(recent.find(8, "a/one", "1.0"), nullptr) << "something was committed since";
    EXPECT_EQ(recent.find(7, "a/one", "2.0"), nullptr);
    EXPECT_EQ(recent.find(7, "a/onex", "1.0"), nullptr);
}

TEST(RecentReadsTest, NothingIsKeptUnderNoCommitNorPastTheSizeLimit) {
    RecentReads<Found> recent;
    // 0: the commit could not be told. Such a read replaces what its slot held, and is not
    // found even by a lookup that could not tell the commit either.
    recent.keep(7, "a/one", "1.0", Found{1, "x"}, 1);
    recent.keep(0, "a/one", "1.0", Found{2, "y"}, 1);
    EXPECT_EQ(recent.find(7, "a/one", "1.0"), nullptr) << "what the slot held went";
    EXPECT_EQ(recent.find(0, "a/one", "1.0"), nullptr);
    recent.keep(7, "a/one", "1.0", Found{1, "x"}, 1);
    recent.keep(7, "a/one", "1.0", Found{2, std::string(RecentReads<Found>::max_kept_bytes + 1, 'x')},
                RecentReads<Found>::max_kept_bytes + 1);
    EXPECT_EQ(recent.find(7, "a/one", "1.0"), nullptr) << "a large body is not kept, nor what the slot held";
}

TEST(RecentReadsTest, ManyReadsKeepTheLatestOfEachSlot) {
    RecentReads<Found> recent;
    for (int i = 0; i < 1000; ++i) {
        recent.keep(7, "a/one", std::to_string(i), Found{i, {}}, 0);
    }
    int answered = 0;
    for (int i = 0; i < 1000; ++i) {
        if (const Found* kept = recent.find(7, "a/one", std::to_string(i))) {
            EXPECT_EQ(kept->n, i);
            ++answered;
        }
    }
    EXPECT_GT(answered, 0);
    EXPECT_LE(answered, 64) << "a fixed number of slots";
}

}  // namespace
}  // namespace registry_cache::store
