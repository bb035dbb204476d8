// The LMDB store, on a fresh environment in a temporary directory per test.
#include <gtest/gtest.h>

#include <lmdb.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "registry_cache/keys.h"
#include "registry_cache/store.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha512:" + std::string(128, 'b');

Digest parsed(const std::string& text) {
    DigestParse p = parse_digest(text);
    EXPECT_EQ(p.status, DigestStatus::ok) << text;
    return p.digest;
}

// The n-th distinct sha256 digest.
std::string nth_digest(unsigned n) {
    static const char hex[] = "0123456789abcdef";
    std::string s = "sha256:" + std::string(64, '0');
    for (std::size_t i = s.size(); n != 0; n >>= 4) s[--i] = hex[n & 0xf];
    return s;
}

StoreWrite record(std::string repository, std::string digest, std::uint64_t size = 1234,
                  const char* media_type = "application/vnd.oci.image.layer.v1.tar+gzip") {
    StoreWrite w;
    w.kind = StoreWrite::Kind::record;
    w.repository = std::move(repository);
    w.digest = std::move(digest);
    w.descriptor.size = size;
    w.descriptor.stored_at = 1700000000;
    EXPECT_TRUE(w.descriptor.media_type.assign(media_type));
    w.link.scope = LinkScope::public_access;
    w.link.stored_at = 1700000001;
    return w;
}

StoreWrite clear(std::string repository, std::string digest) {
    StoreWrite w;
    w.kind = StoreWrite::Kind::clear_link;
    w.repository = std::move(repository);
    w.digest = std::move(digest);
    return w;
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "registry-cache-store-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        options_.directory = dir_.string();
        options_.map_size = 16u << 20;
        options_.max_readers = 8;
    }

    void TearDown() override {
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    Store& open() {
        std::string error;
        store_ = Store::open(options_, error);
        EXPECT_NE(store_, nullptr) << error;
        EXPECT_TRUE(error.empty()) << error;
        if (!store_) throw std::runtime_error("open failed: " + error);
        return *store_;
    }

    void commit(const std::vector<StoreWrite>& batch) {
        std::string error;
        ASSERT_TRUE(store_->commit(batch, error)) << error;
    }

    LookupStatus status(const std::string& repository, const std::string& digest) {
        std::string error;
        return store_->lookup(repository, parsed(digest), &error).status;
    }

    StoreStats stats() {
        StoreStats s;
        std::string error;
        EXPECT_TRUE(store_->stats(s, error)) << error;
        return s;
    }

    // Writes bytes under a key with the bare LMDB API, as another version of this code (or
    // a damaged disk) would. LMDB forbids two environments of one file in a process, so the
    // store is closed around it.
    void put_raw(const char* db, std::string_view key, std::string_view value) {
        store_.reset();
        put_raw_closed(db, key, value);
        open();
    }

    // The same on a closed store (or none yet); creates the table if need be.
    void put_raw_closed(const char* db, std::string_view key, std::string_view value) {
        MDB_env* env = nullptr;
        ASSERT_EQ(mdb_env_create(&env), 0);
        ASSERT_EQ(mdb_env_set_maxdbs(env, 4), 0);
        ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0600), 0);
        MDB_txn* txn = nullptr;
        ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
        MDB_dbi dbi;
        ASSERT_EQ(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        MDB_val v{value.size(), const_cast<char*>(value.data())};
        ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
        ASSERT_EQ(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
    }

    // Whether the file holds a named table, as the bare LMDB API sees it (store closed).
    bool has_table(const char* db) {
        store_.reset();
        MDB_env* env = nullptr;
        EXPECT_EQ(mdb_env_create(&env), 0);
        EXPECT_EQ(mdb_env_set_maxdbs(env, 4), 0);
        EXPECT_EQ(mdb_env_open(env, dir_.c_str(), MDB_RDONLY, 0600), 0);
        MDB_txn* txn = nullptr;
        EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
        MDB_dbi dbi;
        const int rc = mdb_dbi_open(txn, db, 0, &dbi);
        mdb_txn_abort(txn);
        mdb_env_close(env);
        EXPECT_TRUE(rc == 0 || rc == MDB_NOTFOUND) << mdb_strerror(rc);
        return rc == 0;
    }

    fs::path dir_;
    StoreOptions options_;
    std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, OpenCreatesTheEnvironment) {
    open();
    EXPECT_TRUE(fs::exists(dir_ / "data.mdb"));
    EXPECT_TRUE(fs::exists(dir_ / "lock.mdb"));
    EXPECT_EQ(fs::status(dir_ / "data.mdb").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(StoreTest, OpenFailsOnAMissingDirectory) {
    options_.directory = (dir_ / "absent").string();
    std::string error;
    bool damaged = true;
    EXPECT_EQ(Store::open(options_, error, &damaged), nullptr);
    EXPECT_FALSE(damaged) << "a missing directory is the machine's fault, not the file's";
    EXPECT_NE(error.find("mdb_env_open"), std::string::npos) << error;
    EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST_F(StoreTest, OpenRefusesAFileThatIsNotLmdb) {
    {
        std::ofstream garbage(dir_ / "data.mdb", std::ios::binary);
        garbage << std::string(64 * 1024, 'x');
    }
    std::string error;
    bool damaged = false;
    EXPECT_EQ(Store::open(options_, error, &damaged), nullptr);
    EXPECT_TRUE(damaged);
    EXPECT_NE(error.find("mdb_env_open"), std::string::npos) << error;
    EXPECT_NE(error.find("MDB_INVALID"), std::string::npos) << error;
}

TEST_F(StoreTest, OpenRefusesATruncatedFile) {
    // LMDB itself would map the missing pages and die of SIGBUS on the first read.
    open();
    std::vector<StoreWrite> batch;
    for (unsigned i = 0; i < 3000; ++i) batch.push_back(record("library/alpine", nth_digest(i)));
    commit(batch);
    store_.reset();
    fs::resize_file(dir_ / "data.mdb", 3 * 4096);
    std::string error;
    bool damaged = false;
    EXPECT_EQ(Store::open(options_, error, &damaged), nullptr);
    EXPECT_TRUE(damaged);
    EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST_F(StoreTest, AnEmptyDataFileIsANewEnvironment) {
    std::ofstream(dir_ / "data.mdb").close();
    open();
    EXPECT_EQ(stats().links, 0u);
}

TEST_F(StoreTest, OpenRejectsZeroReaders) {
    options_.max_readers = 0;
    std::string error;
    EXPECT_EQ(Store::open(options_, error), nullptr);
    EXPECT_NE(error.find("mdb_env_set_maxreaders"), std::string::npos) << error;
}

TEST_F(StoreTest, EmptyStoreMisses) {
    open();
    EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::miss);
}

TEST_F(StoreTest, RecordThenHit) {
    open();
    commit({record("library/alpine", digest_a, 3623807)});
    std::string error;
    LookupResult r = store_->lookup("library/alpine", parsed(digest_a), &error);
    ASSERT_EQ(r.status, LookupStatus::hit) << error;
    EXPECT_EQ(r.descriptor.size, 3623807u);
    // One record, one time: the link's (the glue gives both the same).
    EXPECT_EQ(r.descriptor.stored_at, 1700000001u);
    EXPECT_EQ(r.descriptor.media_type.view(), "application/vnd.oci.image.layer.v1.tar+gzip");
    EXPECT_EQ(r.link.scope, LinkScope::public_access);
    EXPECT_EQ(r.link.stored_at, 1700000001u);
    EXPECT_TRUE(error.empty());
}

TEST_F(StoreTest, CredentialedScopeIsKept) {
    open();
    StoreWrite w = record("private/app", digest_b);
    w.link.scope = LinkScope::credentialed;
    commit({w});
    LookupResult r = store_->lookup("private/app", parsed(digest_b));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::credentialed);
}

TEST_F(StoreTest, LookupsAreScopedByRepository) {
    open();
    commit({record("team-a/app", digest_a)});
    EXPECT_EQ(status("team-a/app", digest_a), LookupStatus::hit);
    EXPECT_EQ(status("team-b/app", digest_a), LookupStatus::miss);
    EXPECT_EQ(status("team-a", digest_a), LookupStatus::miss);
    EXPECT_EQ(status("team-a/app/x", digest_a), LookupStatus::miss);
    // Learned in B as well, it is a hit in B: a record of its own.
    commit({record("team-b/app", digest_a)});
    EXPECT_EQ(status("team-b/app", digest_a), LookupStatus::hit);
    EXPECT_EQ(stats().links, 2u);
}

TEST_F(StoreTest, LookupsAreScopedByUpstreamNamespace) {
    open();
    const std::string hub = in_namespace("docker.io", "library/alpine");
    const std::string ghcr = in_namespace("ghcr.io", "library/alpine");
    commit({record(hub, digest_a)});
    EXPECT_EQ(status(hub, digest_a), LookupStatus::hit);
    EXPECT_EQ(status(ghcr, digest_a), LookupStatus::miss);
    EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::miss);
    commit({record("library/alpine", digest_b)});
    EXPECT_EQ(status(hub, digest_b), LookupStatus::miss);
    EXPECT_EQ(status("library/alpine", digest_b), LookupStatus::hit);
}

TEST_F(StoreTest, MediaTypeAndSizeArePerRepository) {
    open();
    commit({record("team-a/app", digest_a, 10, "application/vnd.oci.image.layer.v1.tar+gzip")});
    // B's upstream says something else about the same digest: B's hits show it, A's do not.
    commit({record("team-b/app", digest_a, 20, "application/octet-stream")});
    LookupResult a = store_->lookup("team-a/app", parsed(digest_a));
    LookupResult b = store_->lookup("team-b/app", parsed(digest_a));
    ASSERT_EQ(a.status, LookupStatus::hit);
    ASSERT_EQ(b.status, LookupStatus::hit);
    EXPECT_EQ(a.descriptor.media_type.view(), "application/vnd.oci.image.layer.v1.tar+gzip");
    EXPECT_EQ(a.descriptor.size, 10u);
    EXPECT_EQ(b.descriptor.media_type.view(), "application/octet-stream");
    EXPECT_EQ(b.descriptor.size, 20u);
}

TEST_F(StoreTest, ACredentialedWriteLeavesAPublicLinkAlone) {
    open();
    commit({record("team-a/app", digest_a, 10, "application/x-public")});
    StoreWrite credentialed = record("team-a/app", digest_a, 99, "application/x-credentialed");
    credentialed.link.scope = LinkScope::credentialed;
    credentialed.link.stored_at = 1800000000;
    commit({credentialed});
    LookupResult r = store_->lookup("team-a/app", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::public_access);
    EXPECT_EQ(r.descriptor.media_type.view(), "application/x-public");
    EXPECT_EQ(r.descriptor.size, 10u);
    EXPECT_EQ(r.link.stored_at, 1700000001u) << "not even refreshed";

    // Nor within one batch, after the public write that made the link.
    commit({record("team-b/app", digest_a, 10, "application/x-public"), credentialed});
    r = store_->lookup("team-b/app", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::public_access);
    EXPECT_EQ(r.descriptor.media_type.view(), "application/x-public");
}

TEST_F(StoreTest, ACommitSaysHowManyCredentialedWritesChangedNothing) {
    open();
    StoreWrite credentialed = record("team-a/app", digest_a, 99, "application/x-credentialed");
    credentialed.link.scope = LinkScope::credentialed;
    std::string error;
    std::uint64_t unchanged = 7;
    ASSERT_TRUE(store_->commit({credentialed}, error, nullptr, &unchanged)) << error;
    EXPECT_EQ(unchanged, 0u) << "a credentialed link where there was none is a change";
    ASSERT_TRUE(store_->commit({record("team-a/app", digest_a), record("team-b/app", digest_a),
                                credentialed},
                               error, nullptr, &unchanged))
        << error;
    EXPECT_EQ(unchanged, 1u) << "the public link made in the same batch stays as it was";
    ASSERT_TRUE(store_->commit({credentialed, credentialed}, error, nullptr, &unchanged)) << error;
    EXPECT_EQ(unchanged, 2u);
}

TEST_F(StoreTest, ACredentialedWriteCreatesOrRefreshesOnlyCredentialedLinks) {
    open();
    StoreWrite first = record("private/app", digest_a, 10, "application/x-first");
    first.link.scope = LinkScope::credentialed;
    commit({first});
    LookupResult r = store_->lookup("private/app", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::credentialed);

    StoreWrite second = record("private/app", digest_a, 20, "application/x-second");
    second.link.scope = LinkScope::credentialed;
    second.link.stored_at = 1800000000;
    commit({second});
    r = store_->lookup("private/app", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::credentialed);
    EXPECT_EQ(r.descriptor.media_type.view(), "application/x-second");
    EXPECT_EQ(r.descriptor.size, 20u);
    EXPECT_EQ(r.link.stored_at, 1800000000u);

    // A public answer replaces it, whatever it said.
    commit({record("private/app", digest_a, 30, "application/x-public")});
    r = store_->lookup("private/app", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::public_access);
    EXPECT_EQ(r.descriptor.media_type.view(), "application/x-public");
    EXPECT_EQ(r.descriptor.size, 30u);
}

TEST_F(StoreTest, UncacheableLookupsMiss) {
    open();
    commit({record("library/alpine", digest_a)});
    EXPECT_EQ(store_->lookup("Library/Alpine", parsed(digest_a)).status, LookupStatus::miss);
    DigestParse other = parse_digest("blake3:" + std::string(64, 'a'));
    EXPECT_EQ(store_->lookup("library/alpine", other.digest).status, LookupStatus::miss);
}

TEST_F(StoreTest, ClearLinkMakesAMissInThatRepositoryOnly) {
    open();
    commit({record("library/alpine", digest_a), record("library/busybox", digest_a)});
    commit({clear("library/alpine", digest_a)});
    EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::miss);
    EXPECT_EQ(status("library/busybox", digest_a), LookupStatus::hit);
    EXPECT_EQ(stats().links, 1u);
    // Clearing what is not there is not an error.
    commit({clear("library/alpine", digest_a), clear("never/seen", digest_b)});
}

TEST_F(StoreTest, AnInvalidWriteFailsTheWholeBatch) {
    open();
    std::vector<StoreWrite> invalid;
    invalid.push_back(record("Not/Valid", digest_a));
    invalid.push_back(record("library/alpine", "sha256:abc"));
    invalid.push_back(record("library/alpine", "blake3:" + std::string(64, 'a')));
    invalid.push_back(record("library/alpine", "not a digest"));
    invalid.push_back(clear("", digest_a));
    StoreWrite no_media_type = record("library/alpine", digest_a);
    no_media_type.descriptor.media_type = MediaType{};
    invalid.push_back(no_media_type);
    StoreWrite bad_scope = record("library/alpine", digest_a);
    bad_scope.link.scope = static_cast<LinkScope>(7);
    invalid.push_back(bad_scope);

    for (const StoreWrite& bad : invalid) {
        std::vector<StoreWrite> batch = {record("library/alpine", digest_a), bad,
                                         record("library/busybox", digest_b)};
        std::string error;
        EXPECT_FALSE(store_->commit(batch, error)) << bad.repository << " " << bad.digest;
        EXPECT_FALSE(error.empty());
        EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::miss);
        EXPECT_EQ(status("library/busybox", digest_b), LookupStatus::miss);
        EXPECT_EQ(stats().links, 0u);
    }
}

TEST_F(StoreTest, EmptyBatchSucceeds) {
    open();
    commit({});
}

TEST_F(StoreTest, AFullMapEvictsTheOldestAndGoesOn) {
    options_.map_size = 1024 * 1024;
    open();
    // One record at a time, each learned a second after the one before, far past what a
    // 1 MiB map holds: every commit succeeds, making room by evicting the oldest.
    constexpr unsigned total = 12000;
    std::uint64_t evicted = 0;
    for (unsigned i = 0; i < total; ++i) {
        StoreWrite w = record("library/alpine", nth_digest(i));
        w.link.stored_at = 1700000000 + i;
        std::string error;
        std::uint64_t now_evicted = 0;
        ASSERT_TRUE(store_->commit({w}, error, &now_evicted)) << i << ": " << error;
        evicted += now_evicted;
    }
    ASSERT_GT(evicted, 0u) << "a 1 MiB map never filled up";
    StoreStats s = stats();
    EXPECT_EQ(s.links + evicted, total);
    // Eviction frees a tenth at a time and only near the cap (pages on LMDB's free list are
    // room): the map stays mostly full of entries rather than being emptied over and over.
    EXPECT_GT(s.links, 2000u) << "evicted " << evicted;
    EXPECT_LE(s.map_used, s.map_size);
    // The newest answer, the oldest were the ones to go.
    EXPECT_EQ(status("library/alpine", nth_digest(total - 1)), LookupStatus::hit);
    EXPECT_EQ(status("library/alpine", nth_digest(0)), LookupStatus::miss);
}

TEST_F(StoreTest, ABatchTooBigForTheWholeMapFailsWhole) {
    options_.map_size = 64 * 1024;
    open();
    commit({record("library/alpine", nth_digest(0))});
    std::vector<StoreWrite> batch;
    for (unsigned i = 0; i < 2000; ++i) batch.push_back(record("library/busybox", nth_digest(i)));
    std::string error;
    EXPECT_FALSE(store_->commit(batch, error));
    EXPECT_NE(error.find("MDB_MAP_FULL"), std::string::npos) << error;
    EXPECT_NE(error.find("mdb_"), std::string::npos) << "the failing call is named: " << error;
    EXPECT_EQ(status("library/busybox", nth_digest(0)), LookupStatus::miss);
    // The store goes on: a small write still lands.
    commit({record("library/busybox", nth_digest(0))});
    EXPECT_EQ(status("library/busybox", nth_digest(0)), LookupStatus::hit);
}

LinkRecord sample_record() {
    LinkRecord r;
    r.size = 1234;
    r.stored_at = 1700000001;
    EXPECT_TRUE(r.media_type.assign("application/octet-stream"));
    return r;
}

TEST_F(StoreTest, UnknownRecordVersionIsAMiss) {
    open();
    commit({record("library/alpine", digest_a)});

    std::string future = encode(sample_record());
    future[0] = '\x04';
    put_raw("blob_links", link_key("library/alpine", parsed(digest_a)).view(), future);
    std::string error;
    EXPECT_EQ(store_->lookup("library/alpine", parsed(digest_a), &error).status,
              LookupStatus::miss);
    EXPECT_TRUE(error.empty()) << error;
    // Learned again, it is a hit again.
    commit({record("library/alpine", digest_a)});
    EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::hit);
}

// Cache files of older layouts, as that code wrote them: version 1 (a global "descriptors"
// table, links without the descriptor) and version 2 ("links", keyed by the digest's text).
// Their entries are misses, never errors, and the retired tables go at open, so that their
// pages serve new records.
TEST_F(StoreTest, AnOldLayoutFileMissesAndLosesItsRetiredTables) {
    const std::string v1_link("\x01\x01\x88\x77\x66\x55\x44\x33\x22\x11", 10);
    const std::string v1_descriptor = std::string("\x01", 1) + std::string(16, '\x01') +
                                      "\x03" + "a/b";
    const std::string v2_record = std::string("\x02\x01", 2) + std::string(16, '\x01') +
                                  "\x03" + "a/b";
    const std::string text_key = std::string("library/alpine") + '\0' + digest_a;
    put_raw_closed("descriptors", descriptor_key(parsed(digest_a)).view(), v1_descriptor);
    put_raw_closed("links", text_key, v1_link);
    put_raw_closed("links", std::string("library/busybox") + '\0' + digest_b, v2_record);
    ASSERT_TRUE(has_table("descriptors"));
    ASSERT_TRUE(has_table("links"));

    open();
    std::string error;
    for (const auto& [name, digest] : {std::pair{"library/alpine", digest_a},
                                       std::pair{"library/busybox", digest_b}}) {
        EXPECT_EQ(store_->lookup(name, parsed(digest), &error).status, LookupStatus::miss);
        EXPECT_TRUE(error.empty()) << error;
    }
    EXPECT_EQ(stats().links, 0u);
    commit({record("library/alpine", digest_a)});
    EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::hit);
    EXPECT_EQ(stats().links, 1u);
    EXPECT_FALSE(has_table("descriptors"));
    EXPECT_FALSE(has_table("links"));
    EXPECT_TRUE(has_table("blob_links"));
}

TEST_F(StoreTest, DamagedRecordIsAnError) {
    open();
    commit({record("library/alpine", digest_a), record("library/busybox", digest_b)});

    const std::string good = encode(sample_record());
    put_raw("blob_links", link_key("library/alpine", parsed(digest_a)).view(),
            std::string_view(good).substr(0, 5));
    std::string error;
    EXPECT_EQ(store_->lookup("library/alpine", parsed(digest_a), &error).status,
              LookupStatus::error);
    EXPECT_NE(error.find("links"), std::string::npos) << error;
    // Without an error string, the status alone.
    EXPECT_EQ(store_->lookup("library/alpine", parsed(digest_a)).status, LookupStatus::error);

    put_raw("blob_links", link_key("library/busybox", parsed(digest_b)).view(),
            std::string_view(good).substr(0, good.size() - 1));
    error.clear();
    EXPECT_EQ(store_->lookup("library/busybox", parsed(digest_b), &error).status,
              LookupStatus::error);
    EXPECT_NE(error.find("damaged"), std::string::npos) << error;

    // Rewriting the entry repairs it.
    commit({record("library/busybox", digest_b)});
    EXPECT_EQ(status("library/busybox", digest_b), LookupStatus::hit);
}

// A credentialed write may replace a record this code cannot read as a public link: there
// is no public answer there to keep.
TEST_F(StoreTest, ACredentialedWriteReplacesADamagedRecord) {
    open();
    put_raw("blob_links", link_key("library/alpine", parsed(digest_a)).view(), "\x02\x01");
    StoreWrite w = record("library/alpine", digest_a);
    w.link.scope = LinkScope::credentialed;
    commit({w});
    LookupResult r = store_->lookup("library/alpine", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.link.scope, LinkScope::credentialed);
}

TEST_F(StoreTest, ReopenKeepsTheEntries) {
    open();
    commit({record("library/alpine", digest_a, 42)});
    store_.reset();
    open();
    LookupResult r = store_->lookup("library/alpine", parsed(digest_a));
    ASSERT_EQ(r.status, LookupStatus::hit);
    EXPECT_EQ(r.descriptor.size, 42u);
}

TEST_F(StoreTest, ReopenWithASmallerMapKeepsTheData) {
    open();
    std::vector<StoreWrite> batch;
    for (unsigned i = 0; i < 2000; ++i) batch.push_back(record("library/alpine", nth_digest(i)));
    commit(batch);
    const std::uint64_t used = stats().map_used;
    store_.reset();
    // LMDB silently grows a map configured below what the file already uses.
    options_.map_size = 64 * 1024;
    open();
    EXPECT_GE(stats().map_size, used);
    EXPECT_EQ(status("library/alpine", nth_digest(1999)), LookupStatus::hit);
}

TEST_F(StoreTest, StatsCount) {
    open();
    StoreStats s = stats();
    EXPECT_EQ(s.links, 0u);
    EXPECT_EQ(s.map_size, options_.map_size);
    EXPECT_GT(s.map_used, 0u);
    const std::uint64_t empty_used = s.map_used;

    std::vector<StoreWrite> batch;
    for (unsigned i = 0; i < 300; ++i) batch.push_back(record("library/alpine", nth_digest(i)));
    for (unsigned i = 0; i < 100; ++i) batch.push_back(record("library/busybox", nth_digest(i)));
    commit(batch);
    s = stats();
    EXPECT_EQ(s.links, 400u);
    EXPECT_GT(s.map_used, empty_used);
    EXPECT_LE(s.map_used, s.map_size);
    EXPECT_EQ(s.map_used % 4096, 0u);
}

TEST_F(StoreTest, NoStaleReadersOnACleanEnvironment) {
    open();
    EXPECT_EQ(store_->clear_stale_readers(), 0);
    commit({record("library/alpine", digest_a)});
    EXPECT_EQ(status("library/alpine", digest_a), LookupStatus::hit);
    EXPECT_EQ(store_->clear_stale_readers(), 0);
}

TEST_F(StoreTest, LookupsRecycleOneReaderSlot) {
    // One slot in the whole table: the store's own. A lookup that took another one, or
    // left its transaction open, would fail with MDB_READERS_FULL or MDB_BAD_RSLOT.
    options_.max_readers = 1;
    open();
    commit({record("library/alpine", digest_a)});
    for (int i = 0; i < 10000; ++i) {
        std::string error;
        LookupResult r = store_->lookup("library/alpine", parsed(i % 2 ? digest_a : digest_b),
                                        &error);
        ASSERT_EQ(r.status, i % 2 ? LookupStatus::hit : LookupStatus::miss) << i << error;
    }
    StoreStats s;
    std::string error;
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(store_->stats(s, error)) << error;
}

// The number of reader slots that a process holds, as LMDB's own reader list shows them.
int slots_in_use(const fs::path& dir) {
    MDB_env* env = nullptr;
    if (mdb_env_create(&env) != 0) return -1;
    mdb_env_set_maxdbs(env, 4);
    int lines = -1;
    if (mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600) == 0) {
        lines = 0;
        mdb_reader_list(
            env, [](const char* msg, void* ctx) -> int {
                // One header line, then a line per slot in use ("(no active readers)" if none).
                if (std::string_view(msg).find("pid") == std::string_view::npos &&
                    std::string_view(msg).find("no active") == std::string_view::npos) {
                    ++*static_cast<int*>(ctx);
                }
                return 0;
            },
            &lines);
    }
    mdb_env_close(env);
    return lines;
}

TEST_F(StoreTest, AReleasedReaderGivesItsSlotBackAndLookupsGoOn) {
    open();
    commit({record("library/alpine", digest_a)});
    // Read from a child: LMDB forbids a second environment of one file in this process.
    auto slots_seen_by_a_child = [this] {
        pid_t pid = fork();
        if (pid == 0) _exit(slots_in_use(dir_));
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    };
    EXPECT_EQ(slots_seen_by_a_child(), 1) << "the store holds one slot while it serves";
    store_->release_reader();
    EXPECT_EQ(slots_seen_by_a_child(), 0) << "a released store holds none";
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(status("library/alpine", digest_a), LookupStatus::hit) << i;
        ASSERT_EQ(status("library/alpine", digest_b), LookupStatus::miss) << i;
    }
    EXPECT_EQ(stats().links, 1u);
    commit({record("library/busybox", digest_a)});
    EXPECT_EQ(status("library/busybox", digest_a), LookupStatus::hit);
    EXPECT_EQ(slots_seen_by_a_child(), 0) << "reads after the release give their slot back";
}

TEST_F(StoreTest, LookupsDoNotPinOldSnapshots) {
    // Were a snapshot kept between lookups, every overwrite would need fresh pages and a
    // 64 KiB map would be full after a few dozen commits.
    options_.map_size = 64 * 1024;
    open();
    for (unsigned i = 0; i < 2000; ++i) {
        std::string error;
        ASSERT_TRUE(store_->commit({record("library/alpine", digest_a, i)}, error)) << i << error;
        LookupResult r = store_->lookup("library/alpine", parsed(digest_a));
        ASSERT_EQ(r.status, LookupStatus::hit);
        ASSERT_EQ(r.descriptor.size, i);
    }
}

TEST_F(StoreTest, AdoptsAMapGrownByAnotherProcess) {
    // After a reload with a larger max_size, new workers grow the file past the map of old
    // ones; LMDB then answers MDB_MAP_RESIZED until the old process adopts the new size.
    options_.map_size = 1u << 20;
    open();
    commit({record("library/alpine", digest_a)});

    auto grow_in_child = [this](std::uint64_t map_size, unsigned first, unsigned count) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // The parent's environment must not be touched here: a fresh one, then _exit.
            StoreOptions bigger = options_;
            bigger.map_size = map_size;
            std::string error;
            std::unique_ptr<Store> child = Store::open(bigger, error);
            if (!child) _exit(2);
            std::vector<StoreWrite> batch;
            for (unsigned i = first; i < first + count; ++i) {
                batch.push_back(record("library/busybox", nth_digest(i)));
            }
            bool ok = child->commit(batch, error);
            child.reset();
            _exit(ok ? 0 : 1);
        }
        int wstatus = 0;
        ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
        ASSERT_TRUE(WIFEXITED(wstatus));
        ASSERT_EQ(WEXITSTATUS(wstatus), 0);
    };

    // A lookup meets the grown file first (records are about 110 bytes of a page each, so
    // 30,000 need more than the first 1 MiB).
    grow_in_child(8u << 20, 0, 30000);
    std::string error;
    ASSERT_EQ(store_->lookup("library/busybox", parsed(nth_digest(29999)), &error).status,
              LookupStatus::hit) << error;
    EXPECT_GT(stats().map_size, 1u << 20);

    // Then a write does.
    grow_in_child(64u << 20, 30000, 150000);
    commit({record("library/alpine", digest_b)});
    EXPECT_EQ(status("library/busybox", nth_digest(179999)), LookupStatus::hit);
    EXPECT_EQ(status("library/alpine", digest_b), LookupStatus::hit);
    EXPECT_GT(stats().map_size, 8u << 20);
    EXPECT_EQ(stats().links, 180002u);
}

}  // namespace
}  // namespace registry_cache
