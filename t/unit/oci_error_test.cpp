#include <gtest/gtest.h>

#include "registry_cache/oci_error.h"

namespace registry_cache {
namespace {

TEST(OciError, BodyHasDistributionsShape) {
    EXPECT_EQ(render_error_body(OciErrorCode::name_invalid, "bad"),
              R"({"errors":[{"code":"NAME_INVALID","message":"invalid repository name","detail":"bad"}]})"
              "\n");
    EXPECT_EQ(describe(OciErrorCode::digest_invalid).status, 400);
    EXPECT_EQ(describe(OciErrorCode::digest_invalid).code, "DIGEST_INVALID");
}

TEST(OciError, Unavailable) {
    EXPECT_EQ(render_error_body(OciErrorCode::unavailable, "x"),
              R"({"errors":[{"code":"UNAVAILABLE","message":"service unavailable","detail":"x"}]})"
              "\n");
}

TEST(OciError, DetailIsEscaped) {
    std::string out;
    append_json_escaped(out, std::string("q\"b\\n\nr\rt\tc\x01\x7f", 13));
    EXPECT_EQ(out, R"(q\"b\\n\nr\rt\tc\u0001\u007f)");
}

}  // namespace
}  // namespace registry_cache

namespace registry_cache {
namespace {

TEST(OciError, AChallengeWithoutDetail) {
    EXPECT_EQ(describe(OciErrorCode::unauthorized).status, 401);
    EXPECT_EQ(render_error_body(OciErrorCode::unauthorized),
              "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":null}]}\n");
}

}  // namespace
}  // namespace registry_cache
