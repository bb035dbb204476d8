// Manifests and tags in the LMDB store: a body once per digest, a link per repository, the
// same scope rules as blobs, a body never kept under a digest it does not hash to, and tags
// that name a manifest and are read with it.
#include <gtest/gtest.h>

#include "temp_store.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "registry_cache/hasher.h"
#include "registry_cache/store.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const char* const index_type = "application/vnd.oci.image.index.v1+json";

std::string body_of(int n) {
    return R"({"schemaVersion":2,"mediaType":")" + std::string(index_type) + R"(","manifests":[],"n":)" +
           std::to_string(n) + "}";
}

std::string digest_of_body(const std::string& body) {
    return digest_of(DigestAlgorithm::sha256, body);
}

Digest parsed(const std::string& text) {
    DigestParse p = parse_digest(text);
    EXPECT_EQ(p.status, DigestStatus::ok) << text;
    return p.digest;
}

StoreWrite manifest(std::string repository, const std::string& body,
                    LinkScope scope = LinkScope::public_access, const char* media_type = index_type) {
    StoreWrite w;
    w.kind = StoreWrite::Kind::record;
    w.object = StoreWrite::Object::manifest;
    w.repository = std::move(repository);
    w.digest = digest_of_body(body);
    w.descriptor.size = body.size();
    w.descriptor.stored_at = 1700000000;
    EXPECT_TRUE(w.descriptor.media_type.assign(media_type));
    w.link.scope = scope;
    w.link.stored_at = 1700000000;
    w.body = body;
    return w;
}

StoreWrite forget(std::string repository, const std::string& body) {
    StoreWrite w;
    w.kind = StoreWrite::Kind::clear_link;
    w.object = StoreWrite::Object::manifest;
    w.repository = std::move(repository);
    w.digest = digest_of_body(body);
    return w;
}

StoreWrite tag_write(std::string repository, std::string tag, const std::string& body,
                     LinkScope scope = LinkScope::public_access, std::uint64_t at = 1700000000) {
    StoreWrite w;
    w.kind = StoreWrite::Kind::record;
    w.object = StoreWrite::Object::tag;
    w.repository = std::move(repository);
    w.tag = std::move(tag);
    w.digest = digest_of_body(body);
    EXPECT_TRUE(w.descriptor.media_type.assign(index_type));
    w.link.scope = scope;
    w.link.stored_at = at;
    return w;
}

StoreWrite untag(std::string repository, std::string tag) {
    StoreWrite w;
    w.kind = StoreWrite::Kind::clear_link;
    w.object = StoreWrite::Object::tag;
    w.repository = std::move(repository);
    w.tag = std::move(tag);
    return w;
}

class ManifestStoreTest : public TempStoreTest {
protected:

    bool commit(const std::vector<StoreWrite>& batch, std::string* why = nullptr) {
        std::string error;
        bool ok = store_->commit(batch, error);
        if (why != nullptr) *why = error;
        return ok;
    }

    ManifestLookup find(const std::string& repository, const std::string& body) {
        std::string error;
        ManifestLookup found = store_->lookup_manifest(repository, parsed(digest_of_body(body)), &error);
        EXPECT_TRUE(error.empty()) << error;
        return found;
    }


    // Fills the map with blob links until eviction runs, over 40 manifests of `repository`.
    void evicts_bodies_with_their_last_link(const std::string& repository) {
        std::vector<StoreWrite> batch;
        for (int i = 0; i < 40; ++i) {
            StoreWrite w = manifest(repository, body_of(100 + i));
            w.link.stored_at = 1700000000 + static_cast<std::uint64_t>(i);
            batch.push_back(w);
        }
        ASSERT_TRUE(commit(batch));
        // Fill the map with blob links until eviction runs.
        std::uint64_t evicted = 0;
        for (unsigned n = 0; evicted == 0 && n < 200; ++n) {
            std::vector<StoreWrite> blobs;
            for (unsigned i = 0; i < 2000; ++i) {
                StoreWrite w;
                w.repository = "a/blobs";
                w.digest = digest_of(DigestAlgorithm::sha256, std::to_string(n * 2000 + i));
                w.descriptor.size = 1;
                EXPECT_TRUE(w.descriptor.media_type.assign("application/octet-stream"));
                w.link.stored_at = 1800000000;
                blobs.push_back(w);
            }
            std::string error;
            ASSERT_TRUE(store_->commit(blobs, error, &evicted)) << error;
        }
        ASSERT_GT(evicted, 0u) << "the map never filled";
        const StoreStats s = stats();
        EXPECT_LT(s.manifest_links, 40u);
        EXPECT_EQ(s.manifest_links, s.manifest_bodies) << "each body goes with its only link";
        // The oldest went first.
        EXPECT_EQ(find(repository, body_of(100)).status, LookupStatus::miss);
        EXPECT_EQ(find(repository, body_of(139)).status, LookupStatus::hit);
    }

};

TEST_F(ManifestStoreTest, ARecordedManifestIsFoundWithItsBodyAndType) {
    const std::string body = body_of(1);
    EXPECT_EQ(find("library/multi", body).status, LookupStatus::miss);
    ASSERT_TRUE(commit({manifest("library/multi", body)}));
    ManifestLookup found = find("library/multi", body);
    ASSERT_EQ(found.status, LookupStatus::hit);
    EXPECT_EQ(found.body.view(), body);
    EXPECT_EQ(found.descriptor.size, body.size());
    EXPECT_EQ(found.descriptor.media_type.view(), index_type);
    EXPECT_EQ(found.link.scope, LinkScope::public_access);
    // Not a blob, and not in another repository.
    EXPECT_EQ(store_->lookup("library/multi", parsed(digest_of_body(body))).status, LookupStatus::miss);
    EXPECT_EQ(find("library/other", body).status, LookupStatus::miss);
}

TEST_F(ManifestStoreTest, OneBodyPerDigestHeldByEveryLink) {
    const std::string body = body_of(2);
    ASSERT_TRUE(commit({manifest("a/one", body), manifest("a/two", body)}));
    EXPECT_EQ(stats().manifest_links, 2u);
    EXPECT_EQ(stats().manifest_bodies, 1u);
    // Learned again: no second hold.
    ASSERT_TRUE(commit({manifest("a/one", body)}));

    ASSERT_TRUE(commit({forget("a/one", body)}));
    EXPECT_EQ(find("a/one", body).status, LookupStatus::miss);
    ASSERT_EQ(find("a/two", body).status, LookupStatus::hit) << "the other link still holds the body";
    EXPECT_EQ(stats().manifest_bodies, 1u);

    ASSERT_TRUE(commit({forget("a/two", body)}));
    EXPECT_EQ(stats().manifest_links, 0u);
    EXPECT_EQ(stats().manifest_bodies, 0u) << "the last link takes the body with it";
    // Forgetting what is not there changes nothing.
    ASSERT_TRUE(commit({forget("a/two", body)}));
}

TEST_F(ManifestStoreTest, EachRepositoryKeepsItsOwnMediaType) {
    const std::string body = body_of(3);
    ASSERT_TRUE(commit({manifest("a/one", body), manifest("a/two", body, LinkScope::public_access,
                                                           "application/vnd.docker.distribution.manifest.list.v2+json")}));
    EXPECT_EQ(find("a/one", body).descriptor.media_type.view(), index_type);
    EXPECT_EQ(find("a/two", body).descriptor.media_type.view(),
              "application/vnd.docker.distribution.manifest.list.v2+json");
}

TEST_F(ManifestStoreTest, ACredentialedAnswerNeverAltersAPublicLink) {
    const std::string body = body_of(4);
    ASSERT_TRUE(commit({manifest("a/one", body)}));
    std::string error;
    std::uint64_t unchanged = 0;
    ASSERT_TRUE(store_->commit({manifest("a/one", body, LinkScope::credentialed, "application/vnd.oci.image.manifest.v1+json")},
                               error, nullptr, nullptr, &unchanged)) << error;
    EXPECT_EQ(unchanged, 1u);
    ManifestLookup found = find("a/one", body);
    EXPECT_EQ(found.link.scope, LinkScope::public_access);
    EXPECT_EQ(found.descriptor.media_type.view(), index_type);

    // Where no public link is, a credentialed one is kept as credentialed.
    ASSERT_TRUE(commit({manifest("a/private", body, LinkScope::credentialed)}));
    EXPECT_EQ(find("a/private", body).link.scope, LinkScope::credentialed);
}

TEST_F(ManifestStoreTest, ABodyThatIsNotItsDigestIsRefusedWithTheBatch) {
    const std::string body = body_of(5);
    StoreWrite lie = manifest("a/one", body);
    lie.body[10] ^= 1;  // the same size, other bytes
    StoreWrite fine = manifest("a/two", body_of(6));
    std::string why;
    EXPECT_FALSE(commit({fine, lie}, &why));
    EXPECT_NE(why.find("not what its digest names"), std::string::npos) << why;
    EXPECT_EQ(find("a/two", body_of(6)).status, LookupStatus::miss) << "nothing of the batch";

    StoreWrite short_body = manifest("a/one", body);
    short_body.descriptor.size += 1;
    EXPECT_FALSE(commit({short_body}));
    StoreWrite empty = manifest("a/one", body);
    empty.body.clear();
    EXPECT_FALSE(commit({empty}));
    EXPECT_EQ(stats().manifest_bodies, 0u);
}

TEST_F(ManifestStoreTest, EvictionTakesBodiesWithTheirLastLink) {
    evicts_bodies_with_their_last_link("a/one");
}

TEST_F(ManifestStoreTest, EvictionTakesBodiesWithTheirLastLinkInANamespace) {
    evicts_bodies_with_their_last_link(in_namespace("ghcr.io", "a/one"));
}

TEST_F(ManifestStoreTest, ATagIsReadWithTheManifestItNames) {
    const std::string body = body_of(7);
    EXPECT_EQ(store_->lookup_tag("a/one", "1.0").status, LookupStatus::miss);
    ASSERT_TRUE(commit({tag_write("a/one", "1.0", body, LinkScope::public_access, 1700000123)}));
    TaggedLookup found = store_->lookup_tag("a/one", "1.0");
    EXPECT_TRUE(found.tag_found);
    EXPECT_EQ(found.status, LookupStatus::miss) << "the manifest it names is not held yet";
    EXPECT_EQ(found.tag.digest.view(), digest_of_body(body));
    EXPECT_EQ(found.tag.stored_at, 1700000123u);
    EXPECT_FALSE(found.tag.learned_naming_list);

    // Learned again from a client that names the Docker manifest list type: so it says.
    StoreWrite named = tag_write("a/one", "1.0", body, LinkScope::public_access, 1700000123);
    named.tag_learned_naming_list = true;
    named.descriptor.size = body.size();
    ASSERT_TRUE(commit({named}));
    EXPECT_TRUE(store_->lookup_tag("a/one", "1.0").tag.learned_naming_list);
    EXPECT_EQ(store_->lookup_tag("a/one", "1.0").tag.size, body.size());
    // A client that does not name the list, told the same digest later, renews nothing (the
    // tag may have become a list of which this is one platform's manifest); told another, it
    // learns that, for its likes.
    ASSERT_TRUE(commit({tag_write("a/one", "1.0", body, LinkScope::public_access, 1700000999)}));
    EXPECT_TRUE(store_->lookup_tag("a/one", "1.0").tag.learned_naming_list);
    EXPECT_EQ(store_->lookup_tag("a/one", "1.0").tag.stored_at, 1700000123u);
    ASSERT_TRUE(commit({tag_write("a/one", "1.0", body_of(11), LinkScope::public_access, 1700000999)}));
    EXPECT_FALSE(store_->lookup_tag("a/one", "1.0").tag.learned_naming_list);
    EXPECT_EQ(store_->lookup_tag("a/one", "1.0").tag.digest.view(), digest_of_body(body_of(11)));
    ASSERT_TRUE(commit({named}));

    ASSERT_TRUE(commit({manifest("a/one", body)}));
    found = store_->lookup_tag("a/one", "1.0");
    ASSERT_EQ(found.status, LookupStatus::hit);
    EXPECT_EQ(found.manifest.body.view(), body);
    EXPECT_EQ(found.tag.media_type.view(), index_type);
    EXPECT_EQ(store_->lookup_tag("a/two", "1.0").status, LookupStatus::miss) << "tags are per repository";
    EXPECT_EQ(stats().tags, 1u);

    // Moved upstream and learned again: the new digest.
    const std::string moved = body_of(8);
    ASSERT_TRUE(commit({tag_write("a/one", "1.0", moved), manifest("a/one", moved)}));
    EXPECT_EQ(store_->lookup_tag("a/one", "1.0").manifest.body.view(), moved);

    ASSERT_TRUE(commit({untag("a/one", "1.0")}));
    EXPECT_FALSE(store_->lookup_tag("a/one", "1.0").tag_found);
    ASSERT_TRUE(commit({untag("a/one", "1.0")})) << "forgetting what is not there changes nothing";
}

// A worker answers repeated lookups from what it read last (store/recent_reads.h) only while
// nothing was committed since, by any process: another worker's or the writer's commit is
// seen at once.
TEST_F(ManifestStoreTest, WhatAnotherProcessCommitsIsSeenAtTheNextLookup) {
    const std::string body = body_of(20), moved = body_of(21);
    ASSERT_TRUE(commit({manifest("a/one", body), tag_write("a/one", "1.0", body)}));
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(store_->lookup_tag("a/one", "1.0").manifest.body.view(), body);
        ASSERT_EQ(find("a/one", body).status, LookupStatus::hit);
    }
    // Another process (LMDB forbids a second environment of one file in this one) moves the
    // tag and forgets the manifest.
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        std::string error;
        std::unique_ptr<Store> other = Store::open(options_, error);
        const bool ok = other && other->commit({manifest("a/one", moved), tag_write("a/one", "1.0", moved)}, error) &&
                        other->commit({forget("a/one", body)}, error);
        other.reset();
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    TaggedLookup found = store_->lookup_tag("a/one", "1.0");
    ASSERT_EQ(found.status, LookupStatus::hit);
    EXPECT_EQ(found.manifest.body.view(), moved);
    EXPECT_EQ(find("a/one", body).status, LookupStatus::miss);
    EXPECT_EQ(find("a/one", moved).status, LookupStatus::hit);
}

TEST_F(ManifestStoreTest, ADeletedManifestTakesItsRepositorysTagsAlong) {
    const std::string body = body_of(9), other = body_of(10);
    ASSERT_TRUE(commit({manifest("a/one", body), manifest("a/one", other), manifest("a/onex", body),
                        tag_write("a/one", "1.0", body), tag_write("a/one", "latest", body),
                        tag_write("a/one", "2.0", other), tag_write("a/onex", "1.0", body)}));
    ASSERT_TRUE(commit({forget("a/one", body)}));
    EXPECT_FALSE(store_->lookup_tag("a/one", "1.0").tag_found);
    EXPECT_FALSE(store_->lookup_tag("a/one", "latest").tag_found);
    EXPECT_EQ(store_->lookup_tag("a/one", "2.0").status, LookupStatus::hit) << "another digest's tag stays";
    EXPECT_EQ(store_->lookup_tag("a/onex", "1.0").status, LookupStatus::hit)
        << "another repository's, even one whose name starts the same, stays";
}

TEST_F(ManifestStoreTest, ACredentialedTagNeverAltersAPublicOne) {
    const std::string body = body_of(11), other = body_of(12);
    ASSERT_TRUE(commit({tag_write("a/one", "1.0", body)}));
    ASSERT_TRUE(commit({tag_write("a/one", "1.0", other, LinkScope::credentialed)}));
    TaggedLookup found = store_->lookup_tag("a/one", "1.0");
    EXPECT_EQ(found.tag.digest.view(), digest_of_body(body));
    EXPECT_EQ(found.tag.scope, LinkScope::public_access);
}

TEST_F(ManifestStoreTest, InvalidTagWritesAreRefused) {
    const std::string body = body_of(13);
    std::string why;
    EXPECT_FALSE(commit({tag_write("a/one", ".bad", body)}, &why));
    EXPECT_NE(why.find("tag"), std::string::npos) << why;
    StoreWrite no_digest = tag_write("a/one", "1.0", body);
    no_digest.digest = "sha256:abc";
    EXPECT_FALSE(commit({no_digest}));
    StoreWrite other_algorithm = tag_write("a/one", "1.0", body);
    other_algorithm.digest = "blake3:" + std::string(64, 'a');
    EXPECT_FALSE(commit({other_algorithm}));
    EXPECT_EQ(stats().tags, 0u);
}

}  // namespace
}  // namespace registry_cache
