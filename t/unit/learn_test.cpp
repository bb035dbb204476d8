// Every way an upstream answer can fail to teach the cache.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/learn.h"
#include "registry_cache/hasher.h"

namespace registry_cache {
namespace {

const std::string digest = "sha256:" + std::string(64, 'c');
const std::string path = "/v2/demo/app/blobs/" + digest;

UpstreamAnswer good() {
    UpstreamAnswer a;
    a.path = path;
    a.status = 200;
    a.docker_content_digest = digest;
    a.content_length = 1234;
    a.content_type = "application/octet-stream";
    return a;
}

// The answer to a request for `p`, asked upstream as `p` too.
Lesson lesson(const std::string& p, Method m, UpstreamAnswer a) {
    BlobDescriptor d;
    a.path = p;
    return learn(parse_route(p), m, a, 1700000000, d);
}

TEST(Learn, RecordsAConfirmedBlob) {
    BlobDescriptor d;
    ASSERT_EQ(learn(parse_route(path), Method::head, good(), 1700000000, d), Lesson::record);
    EXPECT_EQ(d.size, 1234u);
    EXPECT_EQ(d.stored_at, 1700000000u);
    EXPECT_EQ(d.media_type.view(), "application/octet-stream");
    EXPECT_EQ(lesson(path, Method::get, good()), Lesson::record);
}

TEST(Learn, ZeroLengthBlobIsRecorded) {
    UpstreamAnswer a = good();
    a.content_length = 0;
    EXPECT_EQ(lesson(path, Method::head, a), Lesson::record);
}

TEST(Learn, NothingFromAnythingButA200) {
    for (int status : {201, 203, 206, 301, 304, 307, 400, 401, 403, 404, 429, 500, 502}) {
        UpstreamAnswer a = good();
        a.status = status;
        EXPECT_EQ(lesson(path, Method::head, a), Lesson::nothing) << status;
    }
}

TEST(Learn, NothingWhenTheDigestHeaderDiffers) {
    for (std::string lie : {std::string(), "sha256:" + std::string(64, 'd'), digest + " ",
                            "SHA256:" + std::string(64, 'c'), digest.substr(0, 70)}) {
        UpstreamAnswer a = good();
        a.docker_content_digest = lie;
        EXPECT_EQ(lesson(path, Method::head, a), Lesson::nothing) << lie;
    }
}

TEST(Learn, NothingWithoutAValidLength) {
    UpstreamAnswer a = good();
    a.content_length = -1;
    EXPECT_EQ(lesson(path, Method::head, a), Lesson::nothing);
}

TEST(Learn, NothingWithABadMediaType) {
    for (std::string type : {std::string(), std::string("text/plain\r\nX-Evil: 1"),
                             "application/" + std::string(300, 'x'), std::string("nonsense")}) {
        UpstreamAnswer a = good();
        a.content_type = type;
        EXPECT_EQ(lesson(path, Method::head, a), Lesson::nothing) << type;
    }
}

TEST(Learn, NothingForRoutesThatAreNotCacheableBlobs) {
    UpstreamAnswer a = good();
    EXPECT_EQ(lesson("/v2/demo/app/manifests/" + digest, Method::get, a), Lesson::nothing);
    EXPECT_EQ(lesson("/v2/demo/app/blobs/uploads/", Method::head, a), Lesson::nothing);
    EXPECT_EQ(lesson("/v2/Demo/blobs/" + digest, Method::head, a), Lesson::nothing);
    a.docker_content_digest = "blake3:abcdef";
    EXPECT_EQ(lesson("/v2/demo/app/blobs/blake3:abcdef", Method::head, a), Lesson::nothing);
}

TEST(Learn, NothingForOtherMethods) {
    EXPECT_EQ(lesson(path, Method::other, good()), Lesson::nothing);
    EXPECT_EQ(lesson(path, Method::del, good()), Lesson::nothing);
}

TEST(Learn, NothingWhenTheUpstreamWasAskedForSomethingElse) {
    BlobDescriptor d;
    for (std::string sent : {std::string("/upstream"), std::string("/v2/demo/other/blobs/") + digest,
                             std::string("/v2/demo/app/manifests/") + digest, std::string(),
                             std::string("/v2/demo/app/blobs/sha256:") + std::string(64, 'd')}) {
        UpstreamAnswer a = good();
        a.path = sent;
        EXPECT_EQ(learn(parse_route(path), Method::head, a, 1, d), Lesson::nothing) << sent;
    }
}

TEST(Learn, NothingFromAnEncodedBody) {
    UpstreamAnswer a = good();
    a.content_encoded = true;
    EXPECT_EQ(lesson(path, Method::get, a), Lesson::nothing);
}

TEST(Learn, AcceptedDeleteClearsTheLink) {
    UpstreamAnswer a;
    a.status = 202;
    EXPECT_EQ(lesson(path, Method::del, a), Lesson::clear_link);
    a.status = 404;
    EXPECT_EQ(lesson(path, Method::del, a), Lesson::nothing);
    a.status = 405;
    EXPECT_EQ(lesson(path, Method::del, a), Lesson::nothing);
}

TEST(LearnVerified, RecordsWhatHashedToTheRequestedDigest) {
    BlobDescriptor d;
    EXPECT_EQ(learn_verified(parse_route(path), digest, 77, "application/octet-stream", 5, d),
              Lesson::record);
    EXPECT_EQ(d.size, 77u);
    EXPECT_EQ(d.stored_at, 5u);
}

TEST(LearnVerified, NothingFromAMismatchABadTypeOrATag) {
    BlobDescriptor d;
    Route blob = parse_route(path);
    EXPECT_EQ(learn_verified(blob, "sha256:" + std::string(64, 'd'), 1, "a/b", 5, d), Lesson::nothing);
    EXPECT_EQ(learn_verified(blob, "", 1, "a/b", 5, d), Lesson::nothing);
    EXPECT_EQ(learn_verified(blob, digest, 1, "", 5, d), Lesson::nothing);
    // A tag names no fixed bytes: what its answer hashed to is not the tag's to record.
    EXPECT_EQ(learn_verified(parse_route("/v2/demo/app/manifests/latest"), digest, 1, "a/b", 5, d),
              Lesson::nothing);
}

TEST(LearnVerified, RecordsAManifestByDigestFromItsBytes) {
    BlobDescriptor d;
    const std::string path_of_manifest = "/v2/demo/app/manifests/" + digest;  // the route's views point here
    const Route manifest = parse_route(path_of_manifest);
    EXPECT_EQ(learn_verified(manifest, digest, 512, "application/vnd.oci.image.index.v1+json", 9, d),
              Lesson::record);
    EXPECT_EQ(d.size, 512u);
    EXPECT_EQ(d.media_type.view(), "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(learn_verified(manifest, "sha256:" + std::string(64, 'd'), 512, "a/b", 9, d),
              Lesson::nothing);
}

TEST(Learn, AManifestIsNeverLearnedFromHeadersAloneButForgottenOnDelete) {
    const std::string manifest = "/v2/demo/app/manifests/" + digest;
    UpstreamAnswer a;
    a.status = 200;
    a.docker_content_digest = digest;
    a.content_length = 512;
    a.content_type = "application/vnd.oci.image.manifest.v1+json";
    EXPECT_EQ(lesson(manifest, Method::head, a), Lesson::nothing);
    EXPECT_EQ(lesson(manifest, Method::get, a), Lesson::nothing);
    a.status = 202;
    EXPECT_EQ(lesson(manifest, Method::del, a), Lesson::clear_link);
    EXPECT_EQ(lesson("/v2/demo/app/manifests/latest", Method::del, a), Lesson::nothing);
    EXPECT_TRUE(is_recordable_manifest(parse_route(manifest)));
    EXPECT_FALSE(is_recordable_manifest(parse_route("/v2/demo/app/manifests/latest")));
    EXPECT_FALSE(is_recordable_manifest(parse_route(path)));
}

TEST(Learn, OnlyBlobsByARecordedDigestAreRecordable) {
    EXPECT_TRUE(is_recordable_blob(parse_route(path)));
    EXPECT_TRUE(is_recordable_blob(parse_route("/v2/demo/app/blobs/sha512:" + std::string(128, 'a'))));
    EXPECT_FALSE(is_recordable_blob(parse_route("/v2/demo/app/manifests/" + digest)));
    EXPECT_FALSE(is_recordable_blob(parse_route("/v2/demo/app/blobs/uploads/")));
    EXPECT_FALSE(is_recordable_blob(parse_route("/v2/demo/app/blobs/blake3:" + std::string(64, 'a'))));
    EXPECT_FALSE(is_recordable_blob(parse_route("/v2/demo/app/blobs/sha256:123")));
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

const std::string tag_path = "/v2/demo/app/manifests/1.0";
const std::string index_type = "application/vnd.oci.image.index.v1+json";

Lesson tag_lesson(Method m, UpstreamAnswer a, TagRecord& tag, const std::string& p = tag_path) {
    a.path = p;
    return learn_tag(parse_route(p), m, a, 1700000777, tag);
}

UpstreamAnswer tag_answer() {
    UpstreamAnswer a;
    a.status = 200;
    a.docker_content_digest = digest;
    a.content_length = 512;
    a.content_type = index_type;
    return a;
}

TEST(LearnTag, AHeadOrGetWithTheDigestNamesTheTag) {
    for (Method m : {Method::head, Method::get}) {
        TagRecord tag;
        ASSERT_EQ(tag_lesson(m, tag_answer(), tag), Lesson::record);
        EXPECT_EQ(tag.digest.view(), digest);
        EXPECT_EQ(tag.media_type.view(), index_type);
        EXPECT_EQ(tag.stored_at, 1700000777u);
        EXPECT_EQ(tag.size, 512u);
    }
    UpstreamAnswer chunked = tag_answer();
    chunked.content_length = -1;
    TagRecord tag;
    ASSERT_EQ(tag_lesson(Method::get, chunked, tag), Lesson::record);
    EXPECT_EQ(tag.size, 0u) << "not known";
}

TEST(LearnTag, NothingWithoutADigestItCanStoreOrFromAnythingElse) {
    TagRecord tag;
    UpstreamAnswer a = tag_answer();
    a.docker_content_digest = "";
    EXPECT_EQ(tag_lesson(Method::head, a, tag), Lesson::nothing);
    const std::string other_algorithm = "blake3:" + std::string(64, 'a');  // the answer's views point here
    a.docker_content_digest = other_algorithm;
    EXPECT_EQ(tag_lesson(Method::head, a, tag), Lesson::nothing);
    a = tag_answer();
    a.content_type = "no type";
    EXPECT_EQ(tag_lesson(Method::head, a, tag), Lesson::nothing);
    a = tag_answer();
    a.status = 404;
    EXPECT_EQ(tag_lesson(Method::get, a, tag), Lesson::nothing);
    a = tag_answer();
    a.content_encoded = true;
    EXPECT_EQ(tag_lesson(Method::get, a, tag), Lesson::nothing);
    // By digest is not a tag; a rewrite on the way teaches nothing.
    EXPECT_EQ(tag_lesson(Method::head, tag_answer(), tag, "/v2/demo/app/manifests/" + digest), Lesson::nothing);
    a = tag_answer();
    a.path = "/v2/demo/app/manifests/2.0";
    const std::string asked = tag_path;
    EXPECT_EQ(learn_tag(parse_route(asked), Method::head, a, 1, tag), Lesson::nothing);
}

TEST(LearnTag, APushThroughTheEdgeForgetsTheTag) {
    TagRecord tag;
    UpstreamAnswer a;
    a.status = 201;
    EXPECT_EQ(tag_lesson(Method::put, a, tag), Lesson::clear_link);
    a.status = 400;
    EXPECT_EQ(tag_lesson(Method::put, a, tag), Lesson::nothing);
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

UpstreamAnswer ping_answer(int status) {
    UpstreamAnswer a;
    a.path = "/v2/";
    a.status = status;
    a.www_authenticate = status == 401 ? R"(Bearer realm="https://auth.example/token",service="r")" : "";
    a.api_version = "registry/2.0";
    return a;
}

PingAsked anonymous(bool credentialed = false) {
    PingAsked asked;
    asked.credentialed = credentialed;
    asked.host = "edge.example";
    return asked;
}

bool ping_teaches(const std::string& asked, Method m, bool credentialed, const UpstreamAnswer& a) {
    PingRecord p;
    return learn_ping(parse_route(asked), m, anonymous(credentialed), a, 1700000000, p);
}

TEST(LearnPing, AnAnonymousPingAnswered200Or401IsKept) {
    for (int status : {200, 401}) {
        PingRecord p;
        ASSERT_TRUE(learn_ping(parse_route("/v2/"), Method::get, anonymous(), ping_answer(status), 1700000000, p));
        EXPECT_EQ(p.status, status);
        EXPECT_EQ(p.stored_at, 1700000000u);
        EXPECT_EQ(p.www_authenticate, ping_answer(status).www_authenticate);
        EXPECT_EQ(p.api_version, "registry/2.0");
        EXPECT_TRUE(ping_teaches("/v2/", Method::head, false, ping_answer(status)));
    }
}

TEST(LearnPing, NothingFromAClientWithCredentialsAFailureOrAnotherPath) {
    EXPECT_FALSE(ping_teaches("/v2/", Method::get, true, ping_answer(200)));
    for (int status : {404, 429, 500, 502, 503}) {
        EXPECT_FALSE(ping_teaches("/v2/", Method::get, false, ping_answer(status))) << status;
    }
    EXPECT_FALSE(ping_teaches("/v2/", Method::del, false, ping_answer(200)));
    EXPECT_FALSE(ping_teaches("/v2/_catalog", Method::get, false, ping_answer(200)));
    UpstreamAnswer rewritten = ping_answer(200);
    rewritten.path = "/v2/_catalog";
    EXPECT_FALSE(ping_teaches("/v2/", Method::get, false, rewritten));
    UpstreamAnswer injected = ping_answer(401);
    injected.www_authenticate = "Bearer realm=\"x\"\r\nSet-Cookie: a=b";
    EXPECT_FALSE(ping_teaches("/v2/", Method::get, false, injected));
}

TEST(LearnPing, NothingWhenTheClientSaidWhereItReachedTheUpstreamOrForAHostNoKeyHolds) {
    PingRecord p;
    PingAsked forwarded = anonymous();
    forwarded.forwarding = true;
    EXPECT_FALSE(learn_ping(parse_route("/v2/"), Method::get, forwarded, ping_answer(401), 1, p));
    PingAsked nameless = anonymous();
    nameless.host = "";
    EXPECT_FALSE(learn_ping(parse_route("/v2/"), Method::get, nameless, ping_answer(401), 1, p));
    PingAsked odd = anonymous();
    odd.host = "a host";
    EXPECT_FALSE(learn_ping(parse_route("/v2/"), Method::get, odd, ping_answer(401), 1, p));
}

TEST(LearnPush, AnUploadOrAMountAnswered201TeachesTheirDigest) {
    const std::string d = "sha256:" + std::string(64, 'c');
    const std::string encoded = "sha256%3A" + std::string(64, 'c');
    const std::string upload = "/v2/demo/app/blobs/uploads/8e0f-uuid";
    const std::string uploads = "/v2/demo/app/blobs/uploads/";
    const Route put_route = parse_route(upload);
    const Route post_route = parse_route(uploads);
    UpstreamAnswer answer;
    answer.status = 201;
    answer.docker_content_digest = d;
    answer.path = upload;
    PushedBlob pushed;
    ASSERT_TRUE(learn_push(put_route, Method::put, "_state=abc&digest=" + encoded, answer, pushed));
    EXPECT_EQ(pushed.digest, d);
    EXPECT_EQ(pushed.from, "");
    answer.path = uploads;
    ASSERT_TRUE(learn_push(post_route, Method::post, "mount=" + encoded + "&from=library%2Fbase", answer, pushed));
    EXPECT_EQ(pushed.digest, d);
    EXPECT_EQ(pushed.from, "library/base");
    ASSERT_TRUE(learn_push(post_route, Method::post, "digest=" + encoded, answer, pushed)) << "monolithic";
    EXPECT_EQ(pushed.from, "");
}

TEST(LearnPush, NothingFromAnotherStatusDigestPathOrAQueryInDoubt) {
    const std::string d = "sha256:" + std::string(64, 'c');
    const std::string other = "sha256:" + std::string(64, 'd');
    const std::string upload = "/v2/demo/app/blobs/uploads/8e0f-uuid";
    const Route route = parse_route(upload);
    UpstreamAnswer answer;
    answer.status = 201;
    answer.docker_content_digest = d;
    answer.path = upload;
    PushedBlob pushed;
    for (const std::string& q : {std::string(""), "digest=" + other, "digest=" + d + "&digest=" + d,
                                "digest=sha256%3a" + std::string(64, 'C'), "digest=" + d.substr(0, 20),
                                "digest=sha256%2A" + std::string(64, 'c')}) {
        EXPECT_FALSE(learn_push(route, Method::put, q, answer, pushed)) << q;
    }
    const std::string ok = "digest=" + d;
    answer.status = 202;
    EXPECT_FALSE(learn_push(route, Method::put, ok, answer, pushed));
    answer.status = 201;
    EXPECT_FALSE(learn_push(route, Method::get, ok, answer, pushed));
    EXPECT_FALSE(learn_push(route, Method::post, "mount=" + d + "&from=Bad%2FName", answer, pushed));
    const std::string elsewhere = "/v2/other/app/blobs/uploads/8e0f-uuid";
    answer.path = elsewhere;
    EXPECT_FALSE(learn_push(route, Method::put, ok, answer, pushed)) << "the upstream was asked another path";
    const std::string blob = "/v2/demo/app/blobs/" + d;
    answer.path = blob;
    EXPECT_FALSE(learn_push(parse_route(blob), Method::put, ok, answer, pushed));
}

TEST(LearnPushedManifest, TheBytesSentMustHashToTheAnsweredDigestAndNameTheirType) {
    const std::string type = "application/vnd.oci.image.manifest.v1+json";
    const std::string body = R"({"schemaVersion":2,"mediaType":")" + type + R"(","config":{},"layers":[]})";
    const std::string digest = digest_of(DigestAlgorithm::sha256, body);
    const std::string by_tag = "/v2/demo/app/manifests/1.0";
    const std::string by_digest = "/v2/demo/app/manifests/" + digest;
    UpstreamAnswer answer;
    answer.status = 201;
    answer.docker_content_digest = digest;
    answer.path = by_tag;
    BlobDescriptor d;
    ASSERT_TRUE(learn_pushed_manifest(parse_route(by_tag), Method::put, answer, body, type, d));
    EXPECT_EQ(d.size, body.size());
    EXPECT_EQ(d.media_type.view(), type);
    answer.path = by_digest;
    EXPECT_TRUE(learn_pushed_manifest(parse_route(by_digest), Method::put, answer, body, type, d));

    answer.path = by_tag;
    const Route route = parse_route(by_tag);
    EXPECT_FALSE(learn_pushed_manifest(route, Method::put, answer, body + " ", type, d)) << "other bytes";
    EXPECT_FALSE(learn_pushed_manifest(route, Method::put, answer, body, "application/json", d)) << "another type";
    EXPECT_FALSE(learn_pushed_manifest(route, Method::get, answer, body, type, d));
    EXPECT_FALSE(learn_pushed_manifest(route, Method::put, answer, "", type, d));
    const std::string untyped = R"({"schemaVersion":2,"config":{},"layers":[]})";
    UpstreamAnswer untyped_answer = answer;
    const std::string untyped_digest = digest_of(DigestAlgorithm::sha256, untyped);
    untyped_answer.docker_content_digest = untyped_digest;
    EXPECT_FALSE(learn_pushed_manifest(route, Method::put, untyped_answer, untyped, type, d)) << "no mediaType";
    answer.status = 202;
    EXPECT_FALSE(learn_pushed_manifest(route, Method::put, answer, body, type, d));
    answer.status = 201;
    const std::string elsewhere = "/v2/demo/other/manifests/1.0";
    answer.path = elsewhere;
    EXPECT_FALSE(learn_pushed_manifest(route, Method::put, answer, body, type, d)) << "another path upstream";
    const std::string other_digest = "/v2/demo/app/manifests/sha256:" + std::string(64, 'e');
    answer.path = other_digest;
    EXPECT_FALSE(learn_pushed_manifest(parse_route(other_digest), Method::put, answer, body, type, d))
        << "pushed by another digest than the one answered";
}

}  // namespace
}  // namespace registry_cache
