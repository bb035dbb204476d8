// What registry-cache reads of a store and the repairs it makes: a walk of each table with its
// keys taken apart (namespaces included), damaged records visited rather than failing the
// walk, forget_records, and a read-only open that keeps the file's map size.
#include <gtest/gtest.h>

#include "temp_store.h"
#include <lmdb.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "registry_cache/hasher.h"
#include "registry_cache/store.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');
const std::string manifest_bytes = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
constexpr std::uint64_t map_size = 16u << 20;

class StoreWalkTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "registry-cache-walk-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        store_ = open({});
        ASSERT_NE(store_, nullptr);
        const std::string in_ns = in_namespace("docker.io", "library/alpine");
        std::vector<StoreWrite> batch{blob_link("library/alpine", digest_a), blob_link("library/alpine2", digest_b),
                                      blob_link(in_ns, digest_b), blob_body(digest_a, 1700000050)};
        StoreWrite m;
        m.object = StoreWrite::Object::manifest;
        m.repository = "library/alpine";
        m.digest = manifest_digest();
        m.descriptor.size = manifest_bytes.size();
        EXPECT_TRUE(m.descriptor.media_type.assign("application/vnd.oci.image.index.v1+json"));
        m.link.stored_at = 1700000100;
        m.body = manifest_bytes;
        StoreWrite t = m;
        t.object = StoreWrite::Object::tag;
        t.tag = "3.19";
        t.body.clear();
        t.link.scope = LinkScope::credentialed;
        batch.push_back(m);
        batch.push_back(t);
        std::string error;
        ASSERT_TRUE(store_->commit(batch, error)) << error;
    }
    void TearDown() override {
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    struct Mode {
        bool read_only = false;
        std::uint64_t map_size = registry_cache::map_size;
    };
    std::unique_ptr<Store> open(Mode mode, std::string* why = nullptr) {
        StoreOptions options;
        options.directory = dir_.string();
        options.map_size = mode.map_size;
        options.max_readers = 8;
        options.read_only = mode.read_only;
        std::string error;
        std::unique_ptr<Store> store = Store::open(options, error);
        if (why != nullptr) *why = error;
        return store;
    }
    static std::string manifest_digest() { return digest_of(DigestAlgorithm::sha256, manifest_bytes); }
    struct Seen {
        std::string key, repository, reference;
        DecodeStatus status;
        StoredRecord record;
    };
    std::vector<Seen> walk(Store& store, StoreTable table, std::string_view repository = {}) {
        std::vector<Seen> seen;
        std::string error;
        EXPECT_TRUE(store.walk(table, repository, [&](const StoredRecord& r) {
            seen.push_back({std::string(r.key), std::string(r.repository), std::string(r.reference), r.status, r});
            return true;
        }, error)) << error;
        return seen;
    }

    fs::path dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(StoreWalkTest, ReadsEachTableWithItsKeysTakenApart) {
    const auto links = walk(*store_, StoreTable::blob_links);
    ASSERT_EQ(links.size(), 3u);
    EXPECT_EQ(links[0].repository, "library/alpine");
    EXPECT_EQ(links[0].reference, digest_a);
    EXPECT_EQ(links[0].status, DecodeStatus::ok);
    EXPECT_EQ(links[0].record.link.size, 3u);
    EXPECT_EQ(links[0].record.link.media_type.view(), "application/octet-stream");
    EXPECT_EQ(links[1].repository, "library/alpine2");
    // The namespaced name sorts last (its mark is 0x7f) and keeps its namespace.
    std::string_view ns, name;
    ASSERT_TRUE(split_namespace(links[2].repository, ns, name));
    EXPECT_EQ(ns, "docker.io");
    EXPECT_EQ(name, "library/alpine");
    EXPECT_EQ(links[2].reference, digest_b);

    const auto tags = walk(*store_, StoreTable::tags);
    ASSERT_EQ(tags.size(), 1u);
    EXPECT_EQ(tags[0].reference, "3.19");
    EXPECT_EQ(tags[0].record.tag.digest.view(), manifest_digest());
    EXPECT_EQ(tags[0].record.tag.scope, LinkScope::credentialed);

    const auto manifests = walk(*store_, StoreTable::manifest_links);
    ASSERT_EQ(manifests.size(), 1u);
    EXPECT_EQ(manifests[0].reference, manifest_digest());
    EXPECT_EQ(manifests[0].record.link.stored_at, 1700000100u);

    const auto bodies = walk(*store_, StoreTable::blob_bodies);  // the total is no record
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_EQ(bodies[0].reference, digest_a);
    EXPECT_EQ(bodies[0].record.body.size, 3u);
    EXPECT_EQ(bodies[0].record.body.stored_at, 1700000050u);

    const auto held = walk(*store_, StoreTable::manifest_bodies);
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held[0].reference, manifest_digest());
    EXPECT_EQ(held[0].record.holders, 1u);
    EXPECT_EQ(std::string(held[0].record.manifest), manifest_bytes);
}

TEST_F(StoreWalkTest, OfOneRepositoryReadsItsRecordsOnly) {
    const auto links = walk(*store_, StoreTable::blob_links, "library/alpine");
    ASSERT_EQ(links.size(), 1u);  // not library/alpine2's, nor the namespaced one's
    EXPECT_EQ(links[0].reference, digest_a);
    const auto in_ns = walk(*store_, StoreTable::blob_links, in_namespace("docker.io", "library/alpine"));
    ASSERT_EQ(in_ns.size(), 1u);
    EXPECT_EQ(in_ns[0].reference, digest_b);
    EXPECT_TRUE(walk(*store_, StoreTable::tags, "library/alpine2").empty());
}

TEST_F(StoreWalkTest, StopsWhenTheVisitorSaysSo) {
    int visits = 0;
    std::string error;
    EXPECT_TRUE(store_->walk(StoreTable::blob_links, {}, [&](const StoredRecord&) { return ++visits < 2; }, error));
    EXPECT_EQ(visits, 2);
}

TEST_F(StoreWalkTest, ForgetRecordsRemovesAsTheTablesDo) {
    std::uint64_t forgotten = 0;
    std::string error;
    const auto bodies = walk(*store_, StoreTable::blob_bodies);
    ASSERT_TRUE(store_->forget_records(StoreTable::blob_bodies, {bodies[0].key, bodies[0].key}, forgotten, error))
        << error;
    EXPECT_EQ(forgotten, 1u);  // a key no longer there is skipped
    std::uint64_t bytes = 1, count = 1;
    ASSERT_TRUE(store_->blob_body_totals(bytes, count, error));
    EXPECT_EQ(bytes, 0u);  // the total follows
    EXPECT_EQ(count, 0u);

    // A manifest link gives its hold on the body back: its last link gone, the body goes.
    const auto manifests = walk(*store_, StoreTable::manifest_links);
    ASSERT_TRUE(store_->forget_records(StoreTable::manifest_links, {manifests[0].key}, forgotten, error)) << error;
    EXPECT_EQ(forgotten, 1u);
    EXPECT_TRUE(walk(*store_, StoreTable::manifest_bodies).empty());
}

TEST_F(StoreWalkTest, ADamagedRecordIsVisitedNotAFailure) {
    const auto links = walk(*store_, StoreTable::blob_links);
    store_.reset();
    // Garbage under a link's key, written past the store as a bad disk or a bad copy would.
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), MDB_SUCCESS);
    mdb_env_set_maxdbs(env, 16);
    ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0600), MDB_SUCCESS);
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), MDB_SUCCESS);
    ASSERT_EQ(mdb_dbi_open(txn, "blob_links", 0, &dbi), MDB_SUCCESS);
    MDB_val k{links[0].key.size(), const_cast<char*>(links[0].key.data())};
    MDB_val v{2, const_cast<char*>("\x03\x09")};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), MDB_SUCCESS);
    ASSERT_EQ(mdb_txn_commit(txn), MDB_SUCCESS);
    mdb_env_close(env);

    store_ = open({});
    ASSERT_NE(store_, nullptr);
    const auto seen = walk(*store_, StoreTable::blob_links);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].status, DecodeStatus::damaged);
    EXPECT_EQ(seen[0].reference, digest_a);  // its key still says what it was
    EXPECT_EQ(seen[1].status, DecodeStatus::ok);
}

TEST_F(StoreWalkTest, AReadOnlyOpenReadsKeepsTheMapSizeAndRefusesWrites) {
    store_.reset();
    store_ = open({true, 0});
    ASSERT_NE(store_, nullptr);
    StoreStats stats;
    std::string error;
    ASSERT_TRUE(store_->stats(stats, error)) << error;
    EXPECT_EQ(stats.map_size, map_size);  // the file's, not LMDB's default nor a guess
    EXPECT_EQ(stats.links, 3u);
    EXPECT_EQ(walk(*store_, StoreTable::tags).size(), 1u);
    EXPECT_FALSE(store_->commit({blob_link("library/busybox", digest_a)}, error));
    EXPECT_NE(error.find("mdb_txn_begin"), std::string::npos) << error;
    std::uint64_t forgotten = 0;
    EXPECT_FALSE(store_->forget_records(StoreTable::tags, {"x"}, forgotten, error));

    // A writer's open with the file's size leaves it as it was, too.
    store_.reset();
    store_ = open({false, 0});
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->commit({blob_link("library/busybox", digest_a)}, error)) << error;
    ASSERT_TRUE(store_->stats(stats, error)) << error;
    EXPECT_EQ(stats.map_size, map_size);
}

TEST_F(StoreWalkTest, AReadOnlyOpenCreatesNothing) {
    const fs::path empty = dir_ / "empty";
    fs::create_directory(empty);
    StoreOptions options;
    options.directory = empty.string();
    options.map_size = 0;
    options.read_only = true;
    std::string error;
    EXPECT_EQ(Store::open(options, error), nullptr);
    EXPECT_NE(error.find("mdb_env_open"), std::string::npos) << error;
    EXPECT_FALSE(fs::exists(empty / "data.mdb"));
}

}  // namespace
}  // namespace registry_cache
