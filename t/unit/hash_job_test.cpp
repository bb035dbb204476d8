// Hash jobs: memory and file pieces in any mix hash to the digest of their bytes in order,
// and a file that ends early or cannot be read fails the job instead of passing it.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "registry_cache/hash_job.h"

namespace registry_cache {
namespace {

std::string sample(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) ^ (i >> 7));
    return s;
}

// A temporary file holding `content`, removed with the object.
struct TempFile {
    explicit TempFile(const std::string& content) {
        char name[] = "/tmp/hash_job_test.XXXXXX";
        fd = mkstemp(name);
        path = name;
        if (fd >= 0 && ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
            ::close(fd);
            fd = -1;
        }
    }
    ~TempFile() {
        if (fd >= 0) ::close(fd);
        ::unlink(path.c_str());
    }
    int fd = -1;
    std::string path;
};

TEST(HashJob, MixedPiecesHashInOrder) {
    std::string body = sample(300000);
    TempFile file(body);
    ASSERT_GE(file.fd, 0);

    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha256));
    HashJob job;
    job.add_memory(body.data(), 1000);
    job.add_file(file.fd, 1000, 150000);  // more than the scratch: several reads
    job.add_memory(body.data() + 151000, 0);
    job.add_memory(body.data() + 151000, body.size() - 151000);
    EXPECT_EQ(job.bytes(), body.size());
    std::vector<unsigned char> scratch(4096);
    ASSERT_TRUE(job.run(h, scratch.data(), scratch.size()));
    EXPECT_EQ(h.finish(), digest_of(DigestAlgorithm::sha256, body));
}

TEST(HashJob, SuccessiveJobsContinueOneDigest) {
    std::string body = sample(10000);
    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha512));
    HashJob job;
    unsigned char scratch[64];
    for (std::size_t at = 0; at < body.size(); at += 999) {
        job.clear();
        job.add_memory(body.data() + at, std::min<std::size_t>(999, body.size() - at));
        ASSERT_TRUE(job.run(h, scratch, sizeof scratch));
    }
    EXPECT_EQ(h.bytes(), body.size());
    EXPECT_EQ(h.finish(), digest_of(DigestAlgorithm::sha512, body));
}

TEST(HashJob, FileShorterThanItsPieceFails) {
    TempFile file(sample(100));
    ASSERT_GE(file.fd, 0);
    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha256));
    HashJob job;
    job.add_file(file.fd, 50, 100);
    unsigned char scratch[32];
    EXPECT_FALSE(job.run(h, scratch, sizeof scratch));
    EXPECT_EQ(job.read_error(), 0);
}

TEST(HashJob, UnreadableFileFailsWithItsErrno) {
    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha256));
    HashJob job;
    job.add_file(-1, 0, 10);
    unsigned char scratch[32];
    EXPECT_FALSE(job.run(h, scratch, sizeof scratch));
    EXPECT_EQ(job.read_error(), EBADF);
    job.clear();
    EXPECT_TRUE(job.empty());
    EXPECT_EQ(job.read_error(), 0);
}

TEST(HashJob, HasherThatCannotHashFailsTheJob) {
    Hasher h;  // never started
    HashJob job;
    job.add_memory("abc", 3);
    unsigned char scratch[32];
    EXPECT_FALSE(job.run(h, scratch, sizeof scratch));
    EXPECT_EQ(job.read_error(), 0);
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

std::string contents(int fd) {
    std::string out;
    char buf[65536];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    return out;
}

TEST(HashJob, WhatIsHashedIsCopiedInOrderAcrossJobs) {
    const std::string body = sample(300000);
    TempFile source(body);
    TempFile copy("");
    ASSERT_GE(source.fd, 0);
    ASSERT_GE(copy.fd, 0);
    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha256));
    std::vector<unsigned char> scratch(4096);
    HashJob job;
    // As the verifying filter runs it: a job per batch, each told where the copy stands.
    std::uint64_t written = 0;
    job.copy_to(copy.fd, written);
    job.add_memory(body.data(), 1000);
    job.add_file(source.fd, 1000, 150000);
    ASSERT_TRUE(job.run(h, scratch.data(), scratch.size()));
    EXPECT_EQ(job.copy_error(), 0);
    written += job.copied();
    EXPECT_EQ(written, 151000u);
    job.clear();
    job.copy_to(copy.fd, written);
    job.add_memory(body.data() + 151000, body.size() - 151000);
    ASSERT_TRUE(job.run(h, scratch.data(), scratch.size()));
    written += job.copied();
    EXPECT_EQ(written, body.size());
    EXPECT_EQ(contents(copy.fd), body);
    EXPECT_EQ(h.finish(), digest_of(DigestAlgorithm::sha256, body));
}

TEST(HashJob, AFailedCopyStopsTheCopyNeverTheHash) {
    const std::string body = sample(5000);
    Hasher h;
    ASSERT_TRUE(h.start(DigestAlgorithm::sha256));
    unsigned char scratch[64];
    HashJob job;
    const int read_only = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(read_only, 0);
    job.copy_to(read_only, 0);
    job.add_memory(body.data(), 2000);
    job.add_memory(body.data() + 2000, body.size() - 2000);
    EXPECT_TRUE(job.run(h, scratch, sizeof scratch));
    EXPECT_EQ(job.copy_error(), EBADF);
    EXPECT_EQ(job.copied(), 0u);
    EXPECT_EQ(h.finish(), digest_of(DigestAlgorithm::sha256, body));
    ::close(read_only);
}

}  // namespace
}  // namespace registry_cache
