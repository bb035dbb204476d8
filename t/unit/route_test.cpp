// The route parser against the distribution API's paths and the OCI grammar.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/route.h"

namespace registry_cache {
namespace {

const std::string sha256_hex(64, 'a');
const std::string blob = "/v2/library/alpine/blobs/sha256:" + sha256_hex;

struct RouteCase {
    std::string label;
    std::string path;
    RouteKind kind;
    RouteError error;
    std::string name;
    std::string reference;
};

std::ostream& operator<<(std::ostream& os, const RouteCase& c) { return os << c.label; }

class RouteTable : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RouteTable, Parses) {
    const RouteCase& c = GetParam();
    Route r = parse_route(c.path);
    EXPECT_EQ(static_cast<int>(r.kind), static_cast<int>(c.kind)) << c.path;
    EXPECT_EQ(static_cast<int>(r.error), static_cast<int>(c.error)) << c.path;
    if (c.error == RouteError::none && c.kind != RouteKind::other) {
        EXPECT_EQ(r.name, c.name) << c.path;
        EXPECT_EQ(r.reference, c.reference) << c.path;
    }
}

using K = RouteKind;
using E = RouteError;
const std::string d = "sha256:" + sha256_hex;

INSTANTIATE_TEST_SUITE_P(
    Api, RouteTable,
    ::testing::Values(
        RouteCase{"base", "/v2/", K::base, E::none, "", ""},
        RouteCase{"catalog", "/v2/_catalog", K::catalog, E::none, "", ""},
        RouteCase{"blob", blob, K::blob, E::none, "library/alpine", d},
        RouteCase{"blob single component", "/v2/alpine/blobs/" + d, K::blob, E::none, "alpine", d},
        RouteCase{"blob deep name", "/v2/a/b/c/d/blobs/" + d, K::blob, E::none, "a/b/c/d", d},
        RouteCase{"name containing blobs", "/v2/x/blobs/y/blobs/" + d, K::blob, E::none,
                  "x/blobs/y", d},
        RouteCase{"manifest by tag", "/v2/library/alpine/manifests/3.19", K::manifest, E::none,
                  "library/alpine", "3.19"},
        RouteCase{"manifest by digest", "/v2/app/manifests/" + d, K::manifest, E::none, "app", d},
        RouteCase{"tag with upper case and underscore", "/v2/app/manifests/_Latest-1.x",
                  K::manifest, E::none, "app", "_Latest-1.x"},
        RouteCase{"tags list", "/v2/library/alpine/tags/list", K::tags_list, E::none,
                  "library/alpine", "list"},
        RouteCase{"upload start", "/v2/app/blobs/uploads/", K::blob_upload, E::none, "app", ""},
        RouteCase{"upload session", "/v2/app/blobs/uploads/3f1c-42", K::blob_upload, E::none,
                  "app", "3f1c-42"},
        RouteCase{"name with separators", "/v2/my-org/my__img.v2/blobs/" + d, K::blob, E::none,
                  "my-org/my__img.v2", d},
        RouteCase{"name with dash run", "/v2/a---b/blobs/" + d, K::blob, E::none, "a---b", d},
        RouteCase{"unknown algorithm passes", "/v2/app/blobs/blake3:abcDEF012", K::blob, E::none,
                  "app", "blake3:abcDEF012"},
        RouteCase{"sha512", "/v2/app/blobs/sha512:" + std::string(128, 'f'), K::blob, E::none,
                  "app", "sha512:" + std::string(128, 'f')},
        // Not a route we know: passed on to the upstream, never cached.
        RouteCase{"outside the api", "/v1/_ping", K::other, E::none, "", ""},
        RouteCase{"v2 without slash", "/v2", K::other, E::none, "", ""},
        RouteCase{"trailing slash after digest", blob + "/", K::other, E::none, "", ""},
        RouteCase{"trailing slash after tags list", "/v2/app/tags/list/", K::other, E::none, "",
                  ""},
        RouteCase{"referrers api", "/v2/app/referrers/" + d, K::other, E::none, "", ""},
        RouteCase{"blobs without name", "/v2/blobs/" + d, K::other, E::none, "", ""},
        RouteCase{"percent-encoded slash before digest", "/v2/app/blobs%2F" + d, K::other,
                  E::none, "", ""},
        RouteCase{"invalid tag is not a manifest route", "/v2/app/manifests/-bad", K::other,
                  E::none, "", ""},
        RouteCase{"tag of 129 bytes", "/v2/app/manifests/" + std::string(129, 't'), K::other,
                  E::none, "", ""},
        RouteCase{"tag of 128 bytes", "/v2/app/manifests/" + std::string(128, 't'), K::manifest,
                  E::none, "app", std::string(128, 't')},
        // Names that break the grammar are refused locally.
        RouteCase{"upper case name", "/v2/Library/alpine/blobs/" + d, K::blob, E::name_invalid,
                  "", ""},
        RouteCase{"empty component", "/v2/library//alpine/blobs/" + d, K::blob, E::name_invalid,
                  "", ""},
        RouteCase{"dot dot component", "/v2/library/../alpine/blobs/" + d, K::blob,
                  E::name_invalid, "", ""},
        RouteCase{"leading separator", "/v2/-app/manifests/latest", K::manifest, E::name_invalid,
                  "", ""},
        RouteCase{"trailing separator", "/v2/app_/tags/list", K::tags_list, E::name_invalid, "",
                  ""},
        RouteCase{"triple underscore", "/v2/a___b/blobs/" + d, K::blob, E::name_invalid, "", ""},
        RouteCase{"percent-encoded name", "/v2/library%2Falpine/blobs/" + d, K::blob,
                  E::name_invalid, "", ""},
        RouteCase{"NUL in name", std::string("/v2/ap\0p/blobs/", 15) + d, K::blob,
                  E::name_invalid, "", ""},
        RouteCase{"empty name before uploads", "/v2//blobs/uploads/", K::blob_upload,
                  E::name_invalid, "", ""},
        RouteCase{"name invalid beats digest invalid", "/v2/A/blobs/sha256:XYZ", K::blob,
                  E::name_invalid, "", ""},
        RouteCase{"255-byte name", "/v2/" + std::string(255, 'n') + "/blobs/" + d, K::blob,
                  E::none, std::string(255, 'n'), d},
        RouteCase{"256-byte name", "/v2/" + std::string(256, 'n') + "/blobs/" + d, K::blob,
                  E::name_invalid, "", ""},
        // Digests that break the grammar or their algorithm's form are refused locally.
        RouteCase{"upper case hex", "/v2/app/blobs/sha256:" + std::string(64, 'A'), K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"short sha256", "/v2/app/blobs/sha256:" + std::string(63, 'a'), K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"long sha256", "/v2/app/blobs/sha256:" + std::string(65, 'a'), K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"sha512 of sha256 length", "/v2/app/blobs/sha512:" + sha256_hex, K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"non hex in sha256", "/v2/app/blobs/sha256:" + std::string(63, 'a') + "g",
                  K::blob, E::digest_invalid, "", ""},
        RouteCase{"no colon", "/v2/app/blobs/" + sha256_hex, K::blob, E::digest_invalid, "", ""},
        RouteCase{"empty encoded", "/v2/app/blobs/sha256:", K::blob, E::digest_invalid, "", ""},
        RouteCase{"empty algorithm", "/v2/app/blobs/:" + sha256_hex, K::blob, E::digest_invalid,
                  "", ""},
        RouteCase{"upper case algorithm", "/v2/app/blobs/SHA256:" + sha256_hex, K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"percent-encoded colon", "/v2/app/blobs/sha256%3A" + sha256_hex, K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"bad manifest digest", "/v2/app/manifests/sha256:123", K::manifest,
                  E::digest_invalid, "", ""},
        RouteCase{"blob path without digest", "/v2/app/blobs/uploads", K::blob,
                  E::digest_invalid, "", ""},
        RouteCase{"empty digest", "/v2/app/blobs/", K::blob, E::digest_invalid, "", ""}),
    [](const ::testing::TestParamInfo<RouteCase>& info) {
        std::string id;
        for (char c : info.param.label) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        return id;
    });

TEST(Route, DigestOfValidBlobIsSliced) {
    Route r = parse_route(blob);
    ASSERT_EQ(r.error, RouteError::none);
    EXPECT_TRUE(r.by_digest);
    EXPECT_EQ(r.digest.algorithm, DigestAlgorithm::sha256);
    EXPECT_EQ(r.digest.algorithm_name, "sha256");
    EXPECT_EQ(r.digest.encoded, sha256_hex);
}

TEST(Route, ManifestByTagIsNotByDigest) {
    Route r = parse_route("/v2/app/manifests/latest");
    EXPECT_FALSE(r.by_digest);
}

TEST(Route, StripQuery) {
    EXPECT_EQ(strip_query(blob + "?ns=docker.io"), blob);
    EXPECT_EQ(strip_query("/v2/app/tags/list?n=10&last=a"), "/v2/app/tags/list");
    EXPECT_EQ(strip_query("/v2/"), "/v2/");
    EXPECT_EQ(strip_query("?"), "");
}

TEST(Route, QueryLeftOnThePathMakesTheDigestInvalid) {
    // The caller strips the query; a parser handed one must not read it as part of a digest.
    EXPECT_EQ(parse_route(blob + "?x=1").error, RouteError::digest_invalid);
}

}  // namespace
}  // namespace registry_cache
