// Which upstream bodies are verified, passed, or refused before a byte leaves.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/policy/body_check.h"

namespace registry_cache {
namespace {

const std::string blob_digest = "sha256:" + std::string(64, 'a');
const std::string blob_path = "/v2/library/alpine/blobs/" + blob_digest;

BodyExchange get_200() {
    BodyExchange e;
    e.method = Method::get;
    e.status = 200;
    e.content_length = 10;
    return e;
}

BodyPlan plan(const std::string& path, const BodyExchange& e) {
    Route route = parse_route(path);
    EXPECT_EQ(route.error, RouteError::none) << path;
    return plan_body(route, e);
}

TEST(BodyCheck, A200ToAGetByDigestIsVerifiedAndTeaches) {
    BodyPlan p = plan(blob_path, get_200());
    EXPECT_EQ(p.check, BodyCheck::verify);
    EXPECT_EQ(p.expected, blob_digest);
    EXPECT_TRUE(p.teaches);
}

TEST(BodyCheck, Every2xxWithABodyIsVerifiedButOnly200Teaches) {
    for (int status : {200, 201, 202, 203, 205, 206, 207, 226, 299}) {
        BodyExchange e = get_200();
        e.status = status;
        BodyPlan p = plan(blob_path, e);
        EXPECT_EQ(p.check, BodyCheck::verify) << status;
        EXPECT_EQ(p.teaches, status == 200) << status;
    }
}

TEST(BodyCheck, A206ToTheClientsOwnRangeAndBodilessAnswersPass) {
    BodyExchange e = get_200();
    e.status = 206;
    e.client_asked_range = true;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::pass);
    for (int status : {204, 304, 301, 307, 404, 500, 100}) {
        e = get_200();
        e.status = status;
        EXPECT_EQ(plan(blob_path, e).check, BodyCheck::pass) << status;
    }
    // Range on the request does not excuse a 200 (the whole body) nor a 203.
    for (int status : {200, 203}) {
        e = get_200();
        e.status = status;
        e.client_asked_range = true;
        EXPECT_EQ(plan(blob_path, e).check, BodyCheck::verify) << status;
    }
}

TEST(BodyCheck, OnlyGetsAreVerified) {
    for (Method m : {Method::head, Method::del, Method::other}) {
        BodyExchange e = get_200();
        e.method = m;
        EXPECT_EQ(plan(blob_path, e).check, BodyCheck::pass);
    }
}

TEST(BodyCheck, AnEncodedBodyNamedByDigestIsRefused) {
    BodyExchange e = get_200();
    e.encoded = true;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::refuse_encoded);
    EXPECT_EQ(plan("/v2/library/alpine/manifests/" + blob_digest, e).check, BodyCheck::refuse_encoded);
}

TEST(BodyCheck, AClientThatCannotSeeACutIsRefusedTheBody) {
    BodyExchange e = get_200();
    e.framing = ClientFraming::sees_no_cut;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::refuse_unframed);
    e.framing = ClientFraming::sees_cut_with_length;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::verify) << "a length shows a short body";
    e.content_length = -1;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::refuse_unframed) << "close-delimited";
    e.framing = ClientFraming::sees_every_cut;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::verify) << "chunked: the terminator is held";
}

TEST(BodyCheck, AnotherTwoHundredMadeOfTheAnswerIsRefused) {
    BodyExchange e = get_200();
    e.status = 206;
    e.outgoing_status = 200;  // the slice filter
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::refuse_reshaped);
    e.status = 200;
    e.outgoing_status = 203;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::refuse_reshaped);
    e.outgoing_status = 200;  // unchanged
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::verify);
}

TEST(BodyCheck, AnAnswerMadeBodilessOrAPartOfTheClientsRangePasses) {
    BodyExchange e = get_200();
    for (int out : {304, 412, 416, 204, 500}) {
        e.outgoing_status = out;
        EXPECT_EQ(plan(blob_path, e).check, BodyCheck::pass) << out;
    }
    e.outgoing_status = 206;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::refuse_reshaped) << "a part nobody asked for";
    e.client_asked_range = true;
    EXPECT_EQ(plan(blob_path, e).check, BodyCheck::pass);
}

TEST(BodyCheck, ManifestsByTagAreHeldToTheDigestTheirUpstreamNamed) {
    BodyExchange e = get_200();
    EXPECT_EQ(plan("/v2/library/alpine/manifests/latest", e).check, BodyCheck::pass);
    e.docker_content_digest = blob_digest;
    BodyPlan p = plan("/v2/library/alpine/manifests/latest", e);
    EXPECT_EQ(p.check, BodyCheck::verify);
    EXPECT_EQ(p.expected, blob_digest);
    e.docker_content_digest = "sha256:short";
    EXPECT_EQ(plan("/v2/library/alpine/manifests/latest", e).check, BodyCheck::pass);
}

TEST(BodyCheck, OtherAlgorithmsAndOtherRoutesPass) {
    BodyExchange e = get_200();
    e.encoded = true;
    EXPECT_EQ(plan("/v2/library/alpine/blobs/md5:0123456789abcdef0123456789abcdef", e).check,
              BodyCheck::pass);
    EXPECT_EQ(plan("/v2/library/alpine/tags/list", e).check, BodyCheck::pass);
    EXPECT_EQ(plan("/v2/", e).check, BodyCheck::pass);
}

TEST(BodyCheck, AStatusChangeIsNoneNoWholeBodyOrReshaped) {
    EXPECT_EQ(status_change(200, 200, false), StatusChange::none);
    EXPECT_EQ(status_change(200, 0, false), StatusChange::none);
    EXPECT_EQ(status_change(200, 206, true), StatusChange::no_whole_body);
    EXPECT_EQ(status_change(200, 304, false), StatusChange::no_whole_body);
    EXPECT_EQ(status_change(200, 416, true), StatusChange::no_whole_body);
    EXPECT_EQ(status_change(206, 200, false), StatusChange::reshaped);
    EXPECT_EQ(status_change(200, 206, false), StatusChange::reshaped);
}

TEST(BodyCheck, EveryCheckIsDescribedInWords) {
    for (BodyCheck c : {BodyCheck::pass, BodyCheck::verify, BodyCheck::refuse_encoded,
                        BodyCheck::refuse_unframed, BodyCheck::refuse_reshaped}) {
        EXPECT_FALSE(describe(c).empty());
    }
}

TEST(BodyCheck, OnlyIdentityLeavesTheBytesAlone) {
    EXPECT_FALSE(changes_bytes(""));
    EXPECT_FALSE(changes_bytes("identity"));
    EXPECT_FALSE(changes_bytes(" Identity "));
    EXPECT_FALSE(changes_bytes("identity, IDENTITY,,"));
    EXPECT_TRUE(changes_bytes("gzip"));
    EXPECT_TRUE(changes_bytes("identity, gzip"));
    EXPECT_TRUE(changes_bytes("br"));
    EXPECT_TRUE(changes_bytes("identityx"));
    EXPECT_TRUE(changes_bytes("x-gzip"));
}

}  // namespace
}  // namespace registry_cache
