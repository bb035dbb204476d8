// Blob bodies on disk: written where no reader looks, visible only once published by one
// rename, removed on every path that does not publish, and what a crash leaves swept.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "registry_cache/blobs/blob_files.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const std::string hex256 = "ab" + std::string(62, 'c');
// A Digest views the text it was parsed from: these outlive every test.
const std::string sha256_text = "sha256:" + hex256;
const std::string sha512_text = "sha512:" + std::string(128, 'e');
const std::string blake3_text = "blake3:" + std::string(64, 'a');

Digest digest_of(const std::string& text) {
    const DigestParse p = parse_digest(text);
    EXPECT_EQ(p.status, DigestStatus::ok) << text;
    return p.digest;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_all(int fd, const std::string& bytes) {
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

class BlobFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "registry-cache-blobs-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        files_ = BlobFiles(dir_.string());
        std::string error;
        ASSERT_TRUE(files_.prepare(error)) << error;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::size_t temporary_files() const {
        std::size_t n = 0;
        for (const auto& entry : fs::directory_iterator(dir_ / "blobs" / "tmp")) n += entry.is_regular_file();
        return n;
    }

    fs::path dir_;
    BlobFiles files_{"/nonexistent"};  // set in SetUp
};

TEST_F(BlobFilesTest, PathsAreNamedByTheDigestInTwoHexDigitDirectories) {
    EXPECT_EQ(files_.path_of(digest_of(sha256_text)),
              (dir_ / "blobs" / "sha256" / "ab" / hex256).string());
    EXPECT_EQ(files_.path_of(digest_of(sha512_text)),
              (dir_ / "blobs" / "sha512" / "ee" / std::string(128, 'e')).string());
    EXPECT_EQ(files_.path_of(digest_of(blake3_text)), "") << "not a digest the cache stores";
}

TEST_F(BlobFilesTest, PrepareMakesItsDirectoriesOnceAndSaysWhatFailed) {
    std::string error;
    ASSERT_TRUE(files_.prepare(error)) << error;
    EXPECT_TRUE(fs::is_directory(dir_ / "blobs" / "tmp"));
    EXPECT_EQ(fs::status(dir_ / "blobs").permissions() & fs::perms::all, fs::perms::owner_all);
    ASSERT_TRUE(files_.prepare(error)) << "twice is fine: " << error;

    const fs::path other = dir_ / "other";
    { std::ofstream f(other); f << "a file where the store's directory should be"; }
    BlobFiles blocked(other.string());
    EXPECT_FALSE(blocked.prepare(error));
    EXPECT_NE(error.find((other / "blobs").string()), std::string::npos) << error;
}

TEST_F(BlobFilesTest, ABodyIsVisibleOnlyOncePublished) {
    const Digest digest = digest_of(sha256_text);
    const fs::path target = files_.path_of(digest);
    TempBody body;
    std::string error;
    ASSERT_TRUE(files_.create(body, error)) << error;
    ASSERT_TRUE(body.open());
    EXPECT_EQ(fs::path(body.path()).parent_path(), dir_ / "blobs" / "tmp");
    EXPECT_EQ(fs::status(body.path()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    write_all(body.fd(), "the bytes");
    EXPECT_FALSE(fs::exists(target)) << "nothing at the digest's path while it is written";

    ASSERT_TRUE(files_.publish(body, digest, error)) << error;
    EXPECT_EQ(read(target), "the bytes");
    EXPECT_FALSE(body.open());
    EXPECT_EQ(temporary_files(), 0u);
}

TEST_F(BlobFilesTest, PublishingAgainReplacesTheFileWhole) {
    const Digest digest = digest_of(sha256_text);
    std::string error;
    for (const char* bytes : {"first", "second"}) {
        TempBody body;
        ASSERT_TRUE(files_.create(body, error)) << error;
        write_all(body.fd(), bytes);
        ASSERT_TRUE(files_.publish(body, digest, error)) << error;
    }
    EXPECT_EQ(read(files_.path_of(digest)), "second");
}

TEST_F(BlobFilesTest, EveryPathThatDoesNotPublishRemovesTheFile) {
    std::string error;
    {
        TempBody dropped;
        ASSERT_TRUE(files_.create(dropped, error)) << error;
        write_all(dropped.fd(), "half a body");
        EXPECT_EQ(temporary_files(), 1u);
    }
    EXPECT_EQ(temporary_files(), 0u) << "removed when it goes";

    TempBody discarded;
    ASSERT_TRUE(files_.create(discarded, error)) << error;
    discarded.discard();
    EXPECT_EQ(temporary_files(), 0u);

    TempBody refused;
    ASSERT_TRUE(files_.create(refused, error)) << error;
    EXPECT_FALSE(files_.publish(refused, digest_of(blake3_text), error));
    EXPECT_EQ(temporary_files(), 0u) << "a failed publish removes it too";

    TempBody moved_from;
    ASSERT_TRUE(files_.create(moved_from, error)) << error;
    TempBody moved_to = std::move(moved_from);
    EXPECT_FALSE(moved_from.open());
    EXPECT_TRUE(moved_to.open());
    EXPECT_EQ(temporary_files(), 1u) << "a move keeps the one file";
}

TEST_F(BlobFilesTest, NamesNeverCollide) {
    std::string error;
    TempBody a, b;
    ASSERT_TRUE(files_.create(a, error)) << error;
    ASSERT_TRUE(files_.create(b, error)) << error;
    EXPECT_NE(a.path(), b.path());
    // A leftover of a process that had this pid does not stop the next body.
    const std::string next = a.path().substr(0, a.path().rfind('.') + 1);
    std::vector<std::string> leftovers;
    for (int i = 0; i < 4; ++i) {
        leftovers.push_back(next + std::to_string(std::stoull(b.path().substr(b.path().rfind('.') + 1)) + 1 + i));
        std::ofstream(leftovers.back()) << "x";
    }
    TempBody c;
    ASSERT_TRUE(files_.create(c, error)) << error;
    for (const std::string& leftover : leftovers) {
        EXPECT_NE(c.path(), leftover) << "a new name, not a leftover's";
        EXPECT_EQ(read(leftover), "x") << "the leftover untouched";
    }
}

TEST_F(BlobFilesTest, SweepRemovesWhatACrashLeftAndNothingElse) {
    std::string error;
    const Digest digest = digest_of(sha256_text);
    TempBody kept;
    ASSERT_TRUE(files_.create(kept, error)) << error;
    write_all(kept.fd(), "published");
    ASSERT_TRUE(files_.publish(kept, digest, error)) << error;
    { std::ofstream(dir_ / "blobs" / "tmp" / "123.4") << "left by a crash"; }
    { std::ofstream(dir_ / "blobs" / "tmp" / "123.5") << "and more"; }

    const SweepResult swept = files_.sweep_temporary(error);
    EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(swept.files, 2u);
    EXPECT_EQ(swept.bytes, std::string("left by a crash").size() + std::string("and more").size());
    EXPECT_EQ(temporary_files(), 0u);
    EXPECT_EQ(read(files_.path_of(digest)), "published");
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

TEST_F(BlobFilesTest, SweepOfUnrecordedBodiesAsksForEachFile) {
    std::string error;
    const std::string other_hex = "cd" + std::string(62, 'e');
    const std::string other_text = "sha256:" + other_hex;
    for (const std::string* text : {&sha256_text, &other_text, &sha512_text}) {
        TempBody body;
        ASSERT_TRUE(files_.create(body, error)) << error;
        write_all(body.fd(), "bytes");
        ASSERT_TRUE(files_.publish(body, digest_of(*text), error)) << error;
    }
    // A stray file under a shard, not named as a digest: nobody's.
    { std::ofstream(dir_ / "blobs" / "sha256" / "ab" / "not-a-digest") << "stray"; }
    std::vector<std::string> asked;
    const SweepResult swept = files_.sweep_unrecorded(
        [&](const std::string& digest, std::uint64_t size) {
            asked.push_back(digest);
            EXPECT_EQ(size, 5u);
            return digest == sha256_text;  // only this one has a record
        },
        error);
    EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(swept.files, 3u);
    EXPECT_EQ(swept.bytes, 15u);
    EXPECT_TRUE(fs::exists(files_.path_of(digest_of(sha256_text))));
    EXPECT_FALSE(fs::exists(files_.path_of(digest_of(other_text))));
    EXPECT_FALSE(fs::exists(files_.path_of(digest_of(sha512_text))));
    EXPECT_FALSE(fs::exists(dir_ / "blobs" / "sha256" / "ab" / "not-a-digest"));
    EXPECT_EQ(asked.size(), 4u);
}

}  // namespace
}  // namespace registry_cache
