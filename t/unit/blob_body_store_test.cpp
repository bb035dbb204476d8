// Records of blob bodies in the store: one per digest, read with the repository's link (a
// body answers only where its link does), forgotten, and counted once each in the total
// that holds blobs_max_size.
#include <gtest/gtest.h>

#include "temp_store.h"
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "registry_cache/store.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');

Digest parsed(const std::string& text) { return parse_digest(text).digest; }

StoreWrite link(const std::string& repository, const std::string& digest, std::uint64_t size) {
    StoreWrite w;
    w.object = StoreWrite::Object::blob;
    w.repository = repository;
    w.digest = digest;
    w.descriptor.size = size;
    EXPECT_TRUE(w.descriptor.media_type.assign("application/vnd.oci.image.layer.v1.tar+gzip"));
    w.link.stored_at = 1700000000;
    return w;
}

StoreWrite body(const std::string& digest, std::uint64_t size,
                StoreWrite::Kind kind = StoreWrite::Kind::record, std::uint64_t stored_at = 1700000001) {
    StoreWrite w;
    w.kind = kind;
    w.object = StoreWrite::Object::blob_body;
    w.digest = digest;
    w.descriptor.size = size;
    w.link.stored_at = stored_at;
    return w;
}

class BlobBodyStoreTest : public TempStoreTest {
protected:
    BlobBodyStoreTest() { options_.map_size = 4u << 20; }

};

TEST_F(BlobBodyStoreTest, ABodyAnswersWhereItsLinkDoes) {
    commit({link("a/one", digest_a, 1000), body(digest_a, 1000)});
    std::string error;
    const BodyLookup found = store_->lookup_blob_body("a/one", parsed(digest_a), &error);
    ASSERT_EQ(found.status, LookupStatus::hit) << error;
    EXPECT_EQ(found.descriptor.size, 1000u);
    ASSERT_EQ(found.body_status, LookupStatus::hit);
    EXPECT_EQ(found.body.size, 1000u);
    EXPECT_EQ(found.body.stored_at, 1700000001u);

    EXPECT_EQ(store_->lookup_blob_body("b/two", parsed(digest_a)).status, LookupStatus::miss)
        << "no link in b/two: the body is not b/two's";
    commit({link("a/one", digest_b, 5)});
    const BodyLookup linked_only = store_->lookup_blob_body("a/one", parsed(digest_b));
    EXPECT_EQ(linked_only.status, LookupStatus::hit);
    EXPECT_EQ(linked_only.body_status, LookupStatus::miss) << "a link without a body";
}

TEST_F(BlobBodyStoreTest, TheTotalCountsEachBodyOnce) {
    EXPECT_EQ(stats().blob_bodies, 0u);
    EXPECT_EQ(stats().blob_body_bytes, 0u);
    commit({body(digest_a, 1000), body(digest_b, 24)});
    EXPECT_EQ(stats().blob_bodies, 2u);
    EXPECT_EQ(stats().blob_body_bytes, 1024u);
    commit({body(digest_a, 1000)});
    EXPECT_EQ(stats().blob_body_bytes, 1024u) << "recorded again, counted once";
    commit({body(digest_a, 0, StoreWrite::Kind::clear_link)});
    EXPECT_EQ(stats().blob_bodies, 1u);
    EXPECT_EQ(stats().blob_body_bytes, 24u);
    commit({body(digest_a, 0, StoreWrite::Kind::clear_link)});
    EXPECT_EQ(stats().blob_body_bytes, 24u) << "forgetting what is not there changes nothing";
    EXPECT_EQ(store_->lookup_blob_body("a/one", parsed(digest_a)).status, LookupStatus::miss);
}

TEST_F(BlobBodyStoreTest, AnInvalidDigestFailsTheBatch) {
    std::string error;
    EXPECT_FALSE(store_->commit({body(digest_a, 1), body("sha256:xyz", 1)}, error));
    EXPECT_NE(error.find("invalid digest of a body"), std::string::npos) << error;
    EXPECT_EQ(stats().blob_bodies, 0u) << "nothing of the batch applied";
}

TEST_F(BlobBodyStoreTest, EvictionForgetsTheBodiesStoredFirst) {
    const std::string digest_c = "sha512:" + std::string(128, 'c');
    commit({body(digest_b, 300, StoreWrite::Kind::record, 20), body(digest_a, 200, StoreWrite::Kind::record, 10),
            body(digest_c, 500, StoreWrite::Kind::record, 30)});
    ASSERT_EQ(stats().blob_body_bytes, 1000u);
    std::vector<std::string> removed;
    std::string error;
    ASSERT_TRUE(store_->evict_blob_bodies(1000, removed, error)) << error;
    EXPECT_TRUE(removed.empty()) << "within the target: nothing goes";
    ASSERT_TRUE(store_->evict_blob_bodies(600, removed, error)) << error;
    EXPECT_EQ(removed, (std::vector<std::string>{digest_a, digest_b})) << "oldest first, until it fits";
    EXPECT_EQ(stats().blob_body_bytes, 500u);
    EXPECT_EQ(stats().blob_bodies, 1u);
    ASSERT_TRUE(store_->evict_blob_bodies(0, removed, error)) << error;
    EXPECT_EQ(removed, std::vector<std::string>{digest_c});
    EXPECT_EQ(stats().blob_body_bytes, 0u);
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

TEST(BodyTouch, OnceAnHourAtMost) {
    BodyRecord record;
    record.stored_at = 1700000000;
    EXPECT_FALSE(body_touch_due(record, 1700000000));
    EXPECT_FALSE(body_touch_due(record, 1700000000 + body_touch_interval - 1));
    EXPECT_TRUE(body_touch_due(record, 1700000000 + body_touch_interval));
    EXPECT_FALSE(body_touch_due(record, 1600000000)) << "a clock that went back renews nothing";
}

}  // namespace
}  // namespace registry_cache
