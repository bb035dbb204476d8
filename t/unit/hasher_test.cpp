// Streamed digests against known answers, whatever the chunking.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/hasher.h"

namespace registry_cache {
namespace {

// FIPS 180-2 test vectors for "abc".
TEST(Hasher, KnownAnswers) {
    EXPECT_EQ(digest_of(DigestAlgorithm::sha256, "abc"),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(digest_of(DigestAlgorithm::sha384, "abc"),
              "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
              "8086072ba1e7cc2358baeca134c825a7");
    EXPECT_EQ(digest_of(DigestAlgorithm::sha512, "abc"),
              "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    EXPECT_EQ(digest_of(DigestAlgorithm::sha256, ""),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hasher, ChunkingDoesNotMatter) {
    std::string data;
    for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 7);
    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha256));
    for (std::size_t at = 0, step = 1; at < data.size(); at += step, step = step * 3 % 4099 + 1) {
        ASSERT_TRUE(h.update(data.data() + at, std::min(step, data.size() - at)));
    }
    EXPECT_EQ(h.bytes(), data.size());
    EXPECT_EQ(h.finish(), digest_of(DigestAlgorithm::sha256, data));
}

TEST(Hasher, OtherAlgorithmsCannotStart) {
    Hasher h;
    EXPECT_FALSE(h.start(DigestAlgorithm::other));
    EXPECT_FALSE(h.update("x", 1));
    EXPECT_EQ(h.finish(), "");
}

}  // namespace
}  // namespace registry_cache
