// distribution's webhook envelope, as registry 2.8 sends it (the shapes below are those of its
// events for a push through skopeo, a manifest delete and a blob delete).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "registry_cache/deletions.h"
#include "registry_cache/notifications.h"

namespace registry_cache {
namespace {

const std::string blob_digest = "sha256:" + std::string(64, 'a');
const std::string manifest_digest = "sha256:" + std::string(64, 'b');

std::string event(const std::string& action, const std::string& target) {
    return R"({"id":"x","timestamp":"2026-12-04T05:57:17.9Z","action":")" + action + R"(","target":)" + target +
           R"(,"request":{"id":"r","addr":"127.0.0.1:1","host":"tenant2:5000","method":"PUT","useragent":"u"},)"
           R"("actor":{},"source":{"addr":"vm:5000","instanceID":"i"}})";
}

std::string envelope(const std::vector<std::string>& events) {
    std::string out = R"({"events":[)";
    for (std::size_t i = 0; i < events.size(); ++i) out += (i ? "," : "") + events[i];
    return out + "]}";
}

std::vector<RegistryEvent> read(const std::string& body, std::size_t* skipped = nullptr) {
    std::vector<RegistryEvent> out;
    std::size_t n = 0;
    std::string why;
    EXPECT_TRUE(read_registry_events(body, out, n, why)) << why;
    if (skipped != nullptr) *skipped = n;
    return out;
}

TEST(RegistryEvents, APushedBlobIsLearnedWithTheRegistrysSizeAndType) {
    const auto events = read(envelope({event(
        "push", R"({"mediaType":"application/octet-stream","size":252,"digest":")" + blob_digest +
                    R"(","length":252,"repository":"demo/n","url":"http://r/v2/demo/n/blobs/)" + blob_digest + "\"}")}));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].action, RegistryEvent::Action::learn_blob);
    EXPECT_EQ(events[0].repository, "demo/n");
    EXPECT_EQ(events[0].reference, blob_digest);
    EXPECT_EQ(events[0].media_type, "application/octet-stream");
    EXPECT_EQ(events[0].size, 252u);
    EXPECT_EQ(events[0].host, "tenant2:5000");
}

TEST(RegistryEvents, AManifestPushedUnderATagForgetsTheTagAndByDigestChangesNothing) {
    const std::string manifest_url = "http://r/v2/demo/n/manifests/" + manifest_digest;
    const auto events = read(envelope(
        {event("push", R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":713,"digest":")" +
                           manifest_digest + R"(","repository":"demo/n","url":")" + manifest_url + R"(","tag":"1.0"})"),
         event("push", R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":713,"digest":")" +
                           manifest_digest + R"(","repository":"demo/n","url":")" + manifest_url + "\"}"),
         event("pull", R"({"digest":")" + manifest_digest + R"(","repository":"demo/n","tag":"1.0"})")}));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].action, RegistryEvent::Action::forget_tag);
    EXPECT_EQ(events[0].reference, "1.0");
}

TEST(RegistryEvents, DeletesOfADigestATagAndARepository) {
    const auto events = read(envelope({event("delete", R"({"digest":")" + manifest_digest + R"(","repository":"demo/n"})"),
                                       event("delete", R"({"repository":"demo/n","tag":"1.0"})"),
                                       event("delete", R"({"repository":"demo/n"})")}));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].action, RegistryEvent::Action::forget_digest);
    EXPECT_EQ(events[0].reference, manifest_digest);
    EXPECT_EQ(events[1].action, RegistryEvent::Action::forget_tag);
    EXPECT_EQ(events[2].action, RegistryEvent::Action::forget_repository);
    EXPECT_EQ(events[2].reference, "");
}

TEST(RegistryEvents, InvalidTargetsAreSkippedAndCounted) {
    std::size_t skipped = 0;
    const auto events = read(envelope({event("delete", R"({"digest":"sha256:abc","repository":"demo/n"})"),
                                       event("delete", R"({"repository":"Demo/N"})"),
                                       event("delete", R"({"repository":"demo/n","tag":"-x"})"),
                                       event("push", R"({"mediaType":"application/octet-stream","size":-1,"digest":")" +
                                                         blob_digest + R"(","repository":"demo/n","url":"/v2/demo/n/blobs/x"})"),
                                       event("push", R"({"mediaType":"a\nb","size":3,"digest":")" + blob_digest +
                                                         R"(","repository":"demo/n","url":"/v2/demo/n/blobs/x"})"),
                                       R"({"action":"delete"})", R"("not an object")",
                                       event("delete", R"({"repository":"demo/ok"})")}),
                             &skipped);
    EXPECT_EQ(skipped, 7u);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].repository, "demo/ok");
}

TEST(RegistryEvents, ABodyThatIsNoEnvelopeIsRefused) {
    std::vector<RegistryEvent> out;
    std::size_t skipped = 0;
    std::string why;
    for (const char* bad : {"", "[]", "{}", R"({"events":{}})", R"({"events":[)", "not json"}) {
        EXPECT_FALSE(read_registry_events(bad, out, skipped, why)) << bad;
    }
    EXPECT_TRUE(read_registry_events(R"({"events":[]})", out, skipped, why));
    EXPECT_TRUE(out.empty());
}

TEST(RegistryEvents, EachEventCarriesItsTimeOrTheSafeSideOfUnknown) {
    const std::string blob = R"({"mediaType":"application/octet-stream","size":1,"digest":")" + blob_digest +
                             R"(","repository":"demo/n","url":"http://r/v2/demo/n/blobs/)" + blob_digest + "\"}";
    std::string untimed_push = event("push", blob);
    std::string untimed_delete = event("delete", R"({"digest":")" + blob_digest + R"(","repository":"demo/n"})");
    for (std::string* e : {&untimed_push, &untimed_delete}) {
        e->replace(e->find("2026-12-04T05:57:17.9Z"), 22, "yesterday at noon.....");
    }
    const auto events = read(envelope({event("push", blob), untimed_push, untimed_delete}));
    ASSERT_EQ(events.size(), 3u);
    std::int64_t at = 0;
    ASSERT_TRUE(parse_event_time("2026-12-04T05:57:17.9Z", at));
    EXPECT_EQ(events[0].at, at);
    EXPECT_EQ(events[1].at, pushed_at_unknown);  // older than any deletion
    EXPECT_EQ(events[2].at, deleted_at_unknown);  // newer than any push
}

TEST(EventTime, ReadsDistributionsRfc3339) {
    std::int64_t ns = 0;
    ASSERT_TRUE(parse_event_time("1970-01-01T00:00:00Z", ns));
    EXPECT_EQ(ns, 0);
    ASSERT_TRUE(parse_event_time("2026-12-04T05:57:17.123456789Z", ns));
    EXPECT_EQ(ns, 1796363837123456789LL);
    ASSERT_TRUE(parse_event_time("2026-12-04T06:57:17.5+01:00", ns));
    EXPECT_EQ(ns, 1796363837500000000LL);
    ASSERT_TRUE(parse_event_time("2026-12-04T05:27:17-00:30", ns));
    EXPECT_EQ(ns, 1796363837000000000LL);
    ASSERT_TRUE(parse_event_time("2024-02-29T00:00:00Z", ns));  // a leap day
    ASSERT_TRUE(parse_event_time("2026-12-04T05:57:17.1234567891Z", ns));  // past nine digits: cut
    EXPECT_EQ(ns, 1796363837123456789LL);
    for (const char* bad : {"", "2026-12-04", "2026-12-04T05:57:17", "2026-12-04 05:57:17Z", "2026-13-04T05:57:17Z",
                            "2026-02-30T05:57:17Z", "2025-02-29T05:57:17Z", "2026-12-04T24:00:00Z", "2026-12-04T05:57:17.Z",
                            "2026-12-04T05:57:17Zjunk", "2026-12-04T05:57:17+0100",
                            "1969-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "+026-12-04T05:57:17Z",
                            "1970-01-01T00:00:00+00:01"}) {
        EXPECT_FALSE(parse_event_time(bad, ns)) << bad;
    }
}

TEST(Deletions, APushOlderThanADeletionIsTold) {
    DeletionMemory memory{};
    EXPECT_FALSE(deleted_since(memory, 7, 100));
    remember_deletion(memory, 7, 100);
    EXPECT_TRUE(deleted_since(memory, 7, 99));   // pushed before the deletion: it stays deleted
    EXPECT_TRUE(deleted_since(memory, 7, 100));
    EXPECT_FALSE(deleted_since(memory, 7, 101));  // pushed again after it
    EXPECT_FALSE(deleted_since(memory, 8, 0));
    remember_deletion(memory, 7, 50);  // an older deletion of the same, out of order: the latest holds
    EXPECT_TRUE(deleted_since(memory, 7, 100));
    remember_deletion(memory, 7, 200);
    EXPECT_TRUE(deleted_since(memory, 7, 150));
    EXPECT_TRUE(deleted_since(memory, 7, pushed_at_unknown));
    remember_deletion(memory, 9, deleted_at_unknown);
    EXPECT_TRUE(deleted_since(memory, 9, 1LL << 62));
    EXPECT_FALSE(deleted_since(memory, 0, 0));  // 0 is never a key
}

TEST(Deletions, ADeletionRepeatedIsRememberedAsLongAsANewOne) {
    DeletionMemory memory{};
    remember_deletion(memory, 1, 100);
    for (std::uint64_t key = 2; key < remembered_deletions; ++key) remember_deletion(memory, key, 10);
    remember_deletion(memory, 1, 5000);  // deleted again: the third newest now
    remember_deletion(memory, remembered_deletions, 10);
    remember_deletion(memory, remembered_deletions + 1, 10);
    EXPECT_TRUE(deleted_since(memory, 1, 4000));
    remember_deletion(memory, 1, 50);  // an older report of it, late: the latest time holds
    EXPECT_TRUE(deleted_since(memory, 1, 4000));
}

TEST(Deletions, TheOldestGoesWhenTheRingIsFull) {
    DeletionMemory memory{};
    for (std::uint64_t key = 1; key <= remembered_deletions; ++key) remember_deletion(memory, key, 10);
    EXPECT_TRUE(deleted_since(memory, 1, 0));
    remember_deletion(memory, remembered_deletions + 1, 10);
    EXPECT_FALSE(deleted_since(memory, 1, 0));
    EXPECT_TRUE(deleted_since(memory, 2, 0));
    EXPECT_TRUE(deleted_since(memory, remembered_deletions + 1, 0));
}

}  // namespace
}  // namespace registry_cache
