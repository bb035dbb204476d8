// An operator's purge: what the path names, and what the store forgets (links, tags, bodies no
// longer linked anywhere), per namespace, and nothing else.
#include <gtest/gtest.h>

#include "temp_store.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "registry_cache/hasher.h"
#include "registry_cache/purge.h"
#include "registry_cache/store.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');

TEST(ParsePurge, NamesABlobAManifestATagOrAWholeRepository) {
    PurgeTarget t;
    // (The target's views point into the path, which must outlive it.)
    const std::string blob_path = "library/alpine/blobs/" + digest_a;
    const std::string manifest_path = "library/alpine/manifests/" + digest_b;
    ASSERT_EQ(parse_purge(blob_path, t), RouteError::none);
    EXPECT_EQ(t.kind, PurgeTarget::Kind::blob);
    EXPECT_EQ(t.name, "library/alpine");
    EXPECT_EQ(t.reference, digest_a);
    EXPECT_EQ(t.digest.encoded, std::string(64, 'a'));
    ASSERT_EQ(parse_purge(manifest_path, t), RouteError::none);
    EXPECT_EQ(t.kind, PurgeTarget::Kind::manifest);
    ASSERT_EQ(parse_purge("library/alpine/manifests/3.19", t), RouteError::none);
    EXPECT_EQ(t.kind, PurgeTarget::Kind::tag);
    EXPECT_EQ(t.reference, "3.19");
    ASSERT_EQ(parse_purge("library/alpine", t), RouteError::none);
    EXPECT_EQ(t.kind, PurgeTarget::Kind::repository);
    EXPECT_EQ(t.name, "library/alpine");
    ASSERT_EQ(parse_purge("library/alpine/", t), RouteError::none);
    EXPECT_EQ(t.name, "library/alpine");
}

TEST(ParsePurge, RefusesWhatNamesNothingValid) {
    PurgeTarget t;
    EXPECT_EQ(parse_purge("", t), RouteError::name_invalid);
    EXPECT_EQ(parse_purge("Library/alpine", t), RouteError::name_invalid);
    EXPECT_EQ(parse_purge("a/../b", t), RouteError::name_invalid);
    EXPECT_EQ(parse_purge("library/alpine/blobs/sha256:abc", t), RouteError::digest_invalid);
    EXPECT_EQ(parse_purge("library/alpine/blobs/notadigest", t), RouteError::digest_invalid);
    EXPECT_EQ(parse_purge("library/alpine/manifests/sha256:zz", t), RouteError::digest_invalid);
    EXPECT_EQ(parse_purge("library/alpine/manifests/-bad", t), RouteError::name_invalid);
    EXPECT_EQ(parse_purge("library/alpine%2Fx", t), RouteError::name_invalid);
}

TEST(RenderPurgeCount, IsJsonOfEachTable) {
    PurgeCount c;
    c.blob_links = 2;
    c.tags = 1;
    EXPECT_EQ(render_purge_count(c),
              "{\"purged\":{\"blob_links\":2,\"manifest_links\":0,\"tags\":1,\"manifest_bodies\":0,"
              "\"blob_bodies\":0}}\n");
}

std::string manifest_body(int n) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"n":)" +
           std::to_string(n) + "}";
}

class PurgeStoreTest : public TempStoreTest {
protected:
    static StoreWrite manifest(const std::string& repository, const std::string& bytes) {
        StoreWrite w;
        w.object = StoreWrite::Object::manifest;
        w.repository = repository;
        w.digest = digest_of(DigestAlgorithm::sha256, bytes);
        w.descriptor.size = bytes.size();
        EXPECT_TRUE(w.descriptor.media_type.assign("application/vnd.oci.image.index.v1+json"));
        w.link.stored_at = 1700000000;
        w.body = bytes;
        return w;
    }
    static StoreWrite tag(const std::string& repository, const std::string& name, const std::string& bytes) {
        StoreWrite w;
        w.object = StoreWrite::Object::tag;
        w.repository = repository;
        w.tag = name;
        w.digest = digest_of(DigestAlgorithm::sha256, bytes);
        EXPECT_TRUE(w.descriptor.media_type.assign("application/vnd.oci.image.index.v1+json"));
        w.link.stored_at = 1700000000;
        return w;
    }
    PurgeCount purge(const std::vector<std::string>& repositories, const std::string& path,
                     std::vector<std::string>* bodies = nullptr) {
        PurgeTarget target;
        EXPECT_EQ(parse_purge(path, target), RouteError::none) << path;
        PurgeCount count;
        std::vector<std::string> removed;
        std::string error;
        EXPECT_TRUE(store_->purge(repositories, target, count, removed, error)) << error;
        if (bodies != nullptr) *bodies = removed;
        return count;
    }
    LookupStatus link(const std::string& repository, const std::string& digest) {
        return store_->lookup(repository, parse_digest(digest).digest).status;
    }

};

TEST_F(PurgeStoreTest, ABlobGoesFromItsRepositoryAndItsBodyOnlyWithItsLastLink) {
    commit({blob_link("a/one", digest_a), blob_link("a/two", digest_a), blob_link("a/one", digest_b), blob_body(digest_a),
            blob_body(digest_b)});
    std::vector<std::string> bodies;
    PurgeCount c = purge({"a/one"}, "a/one/blobs/" + digest_a, &bodies);
    EXPECT_EQ(c.blob_links, 1u);
    EXPECT_EQ(c.blob_bodies, 0u) << "a/two still links it";
    EXPECT_TRUE(bodies.empty());
    EXPECT_EQ(link("a/one", digest_a), LookupStatus::miss);
    EXPECT_EQ(link("a/two", digest_a), LookupStatus::hit);
    EXPECT_EQ(link("a/one", digest_b), LookupStatus::hit);
    c = purge({"a/two"}, "a/two/blobs/" + digest_a, &bodies);
    EXPECT_EQ(c.blob_links, 1u);
    EXPECT_EQ(c.blob_bodies, 1u);
    EXPECT_EQ(bodies, std::vector<std::string>{digest_a});
    // Nothing left to purge: nothing counted.
    EXPECT_EQ(purge({"a/two"}, "a/two/blobs/" + digest_a).total(), 0u);
    EXPECT_EQ(stats().blob_bodies, 1u);
}

TEST_F(PurgeStoreTest, AManifestTakesItsTagsAndItsBodyWithItsLastLink) {
    const std::string m = manifest_body(1);
    commit({manifest("a/one", m), manifest("a/two", m), tag("a/one", "1.0", m), tag("a/one", "latest", m),
            tag("a/two", "1.0", m)});
    PurgeCount c = purge({"a/one"}, "a/one/manifests/" + digest_of(DigestAlgorithm::sha256, m));
    EXPECT_EQ(c.manifest_links, 1u);
    EXPECT_EQ(c.tags, 2u);
    EXPECT_EQ(c.manifest_bodies, 0u);
    EXPECT_EQ(store_->lookup_tag("a/two", "1.0").status, LookupStatus::hit);
    c = purge({"a/two"}, "a/two/manifests/" + digest_of(DigestAlgorithm::sha256, m));
    EXPECT_EQ(c.manifest_bodies, 1u);
    EXPECT_EQ(stats().manifest_bodies, 0u);
}

TEST_F(PurgeStoreTest, ATagGoesAloneAndAWholeRepositoryGoesWithoutItsNeighbours) {
    const std::string m = manifest_body(2);
    commit({manifest("a/one", m), tag("a/one", "1.0", m), tag("a/one", "2.0", m), blob_link("a/one", digest_a),
            blob_link("a/one", digest_b), blob_body(digest_b), blob_link("a/one/x", digest_a), blob_link("a/onex", digest_b),
            tag("a/onex", "1.0", m)});
    PurgeCount c = purge({"a/one"}, "a/one/manifests/2.0");
    EXPECT_EQ(c.tags, 1u);
    EXPECT_EQ(c.total(), 1u);
    std::vector<std::string> bodies;
    c = purge({"a/one"}, "a/one", &bodies);
    EXPECT_EQ(c.blob_links, 2u);
    EXPECT_EQ(c.manifest_links, 1u);
    EXPECT_EQ(c.tags, 1u);
    EXPECT_EQ(c.blob_bodies, 0u) << "a/onex still links digest_b";
    EXPECT_EQ(link("a/one/x", digest_a), LookupStatus::hit);
    EXPECT_EQ(link("a/onex", digest_b), LookupStatus::hit);
    EXPECT_EQ(store_->lookup_tag("a/onex", "1.0").tag_found, true);
    EXPECT_EQ(purge({"a/one"}, "a/one").total(), 0u);
}

TEST_F(PurgeStoreTest, OnlyTheNamespacesNamedArePurged) {
    const std::string hub = in_namespace("docker.io", "a/one");
    const std::string ghcr = in_namespace("ghcr.io", "a/one");
    commit({blob_link(hub, digest_a), blob_link(ghcr, digest_a), blob_link("a/one", digest_a), blob_body(digest_a)});
    PurgeCount c = purge({hub}, "a/one");
    EXPECT_EQ(c.blob_links, 1u);
    EXPECT_EQ(c.blob_bodies, 0u);
    EXPECT_EQ(link(ghcr, digest_a), LookupStatus::hit);
    EXPECT_EQ(link("a/one", digest_a), LookupStatus::hit);
    c = purge({ghcr, "a/one"}, "a/one/blobs/" + digest_a);
    EXPECT_EQ(c.blob_links, 2u);
    EXPECT_EQ(c.blob_bodies, 1u);
}

}  // namespace
}  // namespace registry_cache
