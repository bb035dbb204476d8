// When a stored manifest answers a request by digest: distribution 2.8's own rules.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/policy/manifest_answer.h"

namespace registry_cache {
namespace {

const std::string oci_manifest = "application/vnd.oci.image.manifest.v1+json";
const std::string oci_index = "application/vnd.oci.image.index.v1+json";
const std::string docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
const std::string docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";

ManifestAccept accept_of(std::initializer_list<std::string> headers) {
    ManifestAccept a;
    for (const std::string& h : headers) add_accept(h, a);
    return a;
}

TEST(ManifestAnswer, OciTypesOnlyToClientsThatNameThem) {
    const ManifestAccept none;
    EXPECT_FALSE(accepts_manifest(oci_manifest, none));
    EXPECT_FALSE(accepts_manifest(oci_index, none));
    // Docker's types are sent whatever the client accepts (by digest, never rewritten).
    EXPECT_TRUE(accepts_manifest(docker_manifest, none));
    EXPECT_TRUE(accepts_manifest(docker_list, none));
    EXPECT_TRUE(accepts_manifest("application/vnd.example+json", none));

    const ManifestAccept both = accept_of({oci_manifest + ", " + oci_index});
    EXPECT_TRUE(accepts_manifest(oci_manifest, both));
    EXPECT_TRUE(accepts_manifest(oci_index, both));
    const ManifestAccept only_index = accept_of({oci_index});
    EXPECT_FALSE(accepts_manifest(oci_manifest, only_index));
    EXPECT_TRUE(accepts_manifest(oci_index, only_index));
}

TEST(ManifestAnswer, AcceptIsParsedAsTheUpstreamParsesIt) {
    // Parameters and q values cut, spaces trimmed, several headers and several entries.
    EXPECT_TRUE(accept_of({"text/plain, " + oci_manifest + " ; q=0.5"}).oci_manifest);
    EXPECT_TRUE(accept_of({"text/plain", "\t" + oci_index + "\t"}).oci_index);
    EXPECT_TRUE(accept_of({docker_manifest + "," + oci_manifest}).oci_manifest);
    // Wildcards name no type: distribution sends no OCI manifest for */*.
    EXPECT_FALSE(accept_of({"*/*"}).oci_manifest);
    EXPECT_FALSE(accept_of({"application/*"}).oci_index);
    // Exact bytes only.
    EXPECT_FALSE(accept_of({"Application/vnd.oci.image.manifest.v1+json"}).oci_manifest);
    EXPECT_FALSE(accept_of({oci_manifest + "x"}).oci_manifest);
    EXPECT_FALSE(accept_of({""}).oci_manifest);
    EXPECT_FALSE(accept_of({",,;"}).oci_index);
}

// containerd's and the Docker daemon's Accept: the four types and */*.
const ManifestAccept runtime = accept_of({docker_manifest + ", " + docker_list + ", " + oci_index + ", " +
                                          oci_manifest + ", */*"});

TEST(ManifestAnswer, ByTagOnlyTheExactTypeTheClientNames) {
    const ManifestAccept none;
    for (const std::string* type : {&oci_manifest, &oci_index, &docker_manifest, &docker_list}) {
        EXPECT_FALSE(accepts_tagged_manifest(*type, true, none)) << *type;
        EXPECT_TRUE(accepts_tagged_manifest(*type, true, accept_of({*type}))) << *type;
    }
    // What the upstream would rewrite for this client goes upstream.
    EXPECT_FALSE(accepts_tagged_manifest(docker_manifest, true, accept_of({oci_manifest})));
    EXPECT_FALSE(accepts_tagged_manifest(docker_list, true, accept_of({docker_manifest})));
    EXPECT_FALSE(accepts_tagged_manifest("application/vnd.docker.distribution.manifest.v1+prettyjws", true,
                                         accept_of({"*/*"})));
    for (const std::string* type : {&oci_manifest, &oci_index, &docker_manifest, &docker_list}) {
        EXPECT_TRUE(accepts_tagged_manifest(*type, true, runtime)) << *type;
    }
}

// A tag of a Docker manifest list, asked by a client that does not name the list's type, is
// answered upstream with the list's linux/amd64 manifest: what that client learned answers
// those that do not name the list either (the upstream picks the same platform for them), and
// never one that does (the upstream would send it the list).
TEST(ManifestAnswer, ByTagWhatAClientNotNamingTheListLearnedAnswersOnlyItsLikes) {
    for (const std::string* type : {&oci_manifest, &docker_manifest}) {
        EXPECT_TRUE(accepts_tagged_manifest(*type, false, accept_of({*type}))) << *type;
        EXPECT_TRUE(accepts_tagged_manifest(*type, false, accept_of({oci_manifest + ", " + docker_manifest})));
        EXPECT_FALSE(accepts_tagged_manifest(*type, false, runtime)) << *type;
        EXPECT_FALSE(accepts_tagged_manifest(*type, false, accept_of({*type, docker_list}))) << *type;
        // Nor to a client that only might name it (a registry that cuts at ';' would see it).
        EXPECT_FALSE(accepts_tagged_manifest(*type, false, accept_of({*type + ", " + docker_list + ";x"})));
        EXPECT_TRUE(tag_not_modified_answerable(*type, false, accept_of({*type})));
        EXPECT_FALSE(tag_not_modified_answerable(*type, false, runtime)) << "the upstream compares the list's digest";
        EXPECT_TRUE(tag_not_modified_answerable(*type, true, runtime));
    }
    // An index or a list is never what a registry rewrites a list into: it is the tag's own.
    EXPECT_TRUE(accepts_tagged_manifest(oci_index, false, runtime));
    EXPECT_TRUE(accepts_tagged_manifest(docker_list, false, runtime));
    EXPECT_TRUE(tag_not_modified_answerable(oci_index, false, runtime));
}

// A type is named only where every registry would see it named: distribution 3 skips an
// entry whose parameters Go's mime.ParseMediaType refuses, and lowercases the type;
// distribution 2.8 cuts at ';' and compares the type as sent. The list is mentioned wherever any might
// see it.
TEST(ManifestAnswer, ATypeIsNamedOnlyWhereEveryRegistrySeesItNamed) {
    const ManifestAccept malformed = accept_of({docker_list + ";x, " + docker_manifest});
    EXPECT_FALSE(malformed.docker_list);
    EXPECT_TRUE(malformed.mentions_docker_list);
    EXPECT_TRUE(malformed.docker_manifest);
    for (const std::string& odd : {docker_list + "; q", docker_list + "; q=", docker_list + "; =1",
                                   docker_list + "; q=1; Q=2", docker_list + "; a=\"open",
                                   docker_list + "; a*=utf-8''x", docker_list + " x",
                                   std::string("Application/vnd.docker.distribution.manifest.list.v2+JSON")}) {
        const ManifestAccept a = accept_of({odd});
        EXPECT_FALSE(a.docker_list) << odd;
        EXPECT_TRUE(a.mentions_docker_list || odd == docker_list + " x") << odd;
    }
    for (const std::string& fine : {docker_list, std::string(docker_list + ";"), docker_list + " ; q=0.5",
                                    docker_list + ";q=1;level=\"a;b\"", "  " + docker_list + "\t",
                                    docker_list + "; a=\"\\\"\""}) {
        const ManifestAccept a = accept_of({fine});
        EXPECT_TRUE(a.docker_list) << fine;
        EXPECT_TRUE(a.mentions_docker_list) << fine;
    }
    EXPECT_FALSE(accept_of({oci_manifest + ";x"}).oci_manifest);
    EXPECT_TRUE(accept_of({oci_manifest + "; q=0.9"}).oci_manifest);
    EXPECT_FALSE(accept_of({oci_index}).mentions_docker_list);
}

TEST(ManifestAnswer, IfNoneMatchNamesTheDigestQuotedOrNot) {
    const std::string d = "sha256:" + std::string(64, 'a');
    EXPECT_TRUE(if_none_match_names(d, d));
    EXPECT_TRUE(if_none_match_names("\"" + d + "\"", d));
    EXPECT_FALSE(if_none_match_names("W/\"" + d + "\"", d));
    EXPECT_FALSE(if_none_match_names("\"" + d, d));
    EXPECT_FALSE(if_none_match_names("*", d));
    EXPECT_FALSE(if_none_match_names("\"x\", \"" + d + "\"", d));
    EXPECT_FALSE(if_none_match_names("", d));
    EXPECT_FALSE(if_none_match_names("\"" + d.substr(1) + "x\"", d));
}

}  // namespace
}  // namespace registry_cache
