// If-Match / If-None-Match against a blob's ETag, as Go's http.ServeContent decides.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/conditional.h"

namespace registry_cache {
namespace {

const std::string digest = "sha256:" + std::string(64, 'a');
const std::string etag = "\"" + digest + "\"";
constexpr auto none = std::nullopt;

Precondition inm(const std::string& header) { return evaluate_preconditions(none, header, etag); }
Precondition im(const std::string& header) { return evaluate_preconditions(header, none, etag); }

TEST(Conditional, NoHeadersProceed) {
    EXPECT_EQ(evaluate_preconditions(none, none, etag), Precondition::proceed);
}

TEST(Conditional, IfNoneMatchIsWeak) {
    EXPECT_EQ(inm(etag), Precondition::not_modified);
    EXPECT_EQ(inm("W/" + etag), Precondition::not_modified);
    EXPECT_EQ(inm("\"other\", " + etag), Precondition::not_modified);
    EXPECT_EQ(inm("\"other\" ,W/" + etag + " , \"x\""), Precondition::not_modified);
    EXPECT_EQ(inm("*"), Precondition::not_modified);
    EXPECT_EQ(inm("\"other\""), Precondition::proceed);
    EXPECT_EQ(inm(""), Precondition::proceed);
}

TEST(Conditional, ABareDigestIsNoEntityTag) {
    // distribution accepts the bare digest for manifests only; blobs go through ServeContent.
    EXPECT_EQ(inm(digest), Precondition::proceed);
}

TEST(Conditional, MalformedListsMatchNothingAfterTheFault) {
    EXPECT_EQ(inm("\"unterminated, " + etag), Precondition::proceed);
    EXPECT_EQ(inm("junk, " + etag), Precondition::proceed);
    EXPECT_EQ(inm(etag + ", junk"), Precondition::not_modified);
}

TEST(Conditional, IfMatchIsStrong) {
    EXPECT_EQ(im(etag), Precondition::proceed);
    EXPECT_EQ(im("*"), Precondition::proceed);
    EXPECT_EQ(im("\"other\", " + etag), Precondition::proceed);
    EXPECT_EQ(im("W/" + etag), Precondition::failed);
    EXPECT_EQ(im("\"other\""), Precondition::failed);
}

TEST(Conditional, IfMatchIsJudgedFirst) {
    EXPECT_EQ(evaluate_preconditions(std::string("\"other\""), etag, etag), Precondition::failed);
    EXPECT_EQ(evaluate_preconditions(etag, etag, etag), Precondition::not_modified);
}

}  // namespace
}  // namespace registry_cache
