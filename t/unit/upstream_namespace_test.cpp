// Names in upstream namespaces: unambiguous, the empty namespace is the layout of old stores.
#include <gtest/gtest.h>

#include <string>

#include "registry_cache/keys.h"
#include "registry_cache/ping_record.h"
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {
namespace {

TEST(UpstreamNamespace, ValidNamespacesArePrintableWithoutSpaces) {
    for (const char* ok : {"docker.io", "ghcr.io:443", "[::1]:5000", "a", "tenant-2_x~"}) {
        EXPECT_TRUE(is_valid_namespace(ok)) << ok;
    }
    EXPECT_TRUE(is_valid_namespace(std::string(max_namespace_length, 'n')));
    EXPECT_FALSE(is_valid_namespace(std::string(max_namespace_length + 1, 'n')));
    for (const std::string& bad : {std::string(), std::string("a b"), std::string("a\tb"), std::string("a\0b", 3),
                                  std::string("a\x7f"), std::string("\xc3\xa9"), std::string("a\r\nb")}) {
        EXPECT_FALSE(is_valid_namespace(bad)) << bad;
    }
}

TEST(UpstreamNamespace, TheEmptyNamespaceKeepsNamesAsTheyWere) {
    EXPECT_EQ(in_namespace("", "library/alpine"), "library/alpine");
    std::string_view ns = "x", name;
    ASSERT_TRUE(split_namespace("library/alpine", ns, name));
    EXPECT_EQ(ns, "");
    EXPECT_EQ(name, "library/alpine");
}

TEST(UpstreamNamespace, ANamespacedNameSplitsBackIntoItsParts) {
    const std::string stored = in_namespace("ghcr.io", "library/alpine");
    EXPECT_EQ(stored, std::string("\x7fghcr.io\0library/alpine", 23));
    std::string_view ns, name;
    ASSERT_TRUE(split_namespace(stored, ns, name));
    EXPECT_EQ(ns, "ghcr.io");
    EXPECT_EQ(name, "library/alpine");
    // The mark without a namespace and its NUL, or with an invalid one, is no stored name.
    for (const std::string& bad : {std::string("\x7f"), std::string("\x7fghcr.io"), std::string("\x7f\0a", 3),
                                  std::string("\x7fgh\tcr\0a", 8)}) {
        EXPECT_FALSE(split_namespace(bad, ns, name)) << bad;
    }
}

TEST(UpstreamNamespace, AForwardedHostMakesANamespaceOfItsOwn) {
    EXPECT_EQ(hosted_namespace("", "tenant2"), " tenant2");
    EXPECT_EQ(hosted_namespace("docker.io", "tenant2"), "docker.io tenant2");
    EXPECT_EQ(hosted_namespace("docker.io", ""), "");
    EXPECT_EQ(hosted_namespace("docker.io", "a b"), "");
    EXPECT_EQ(hosted_namespace("", std::string(max_stored_namespace_length, 'h')), "");
    EXPECT_EQ(hosted_namespace("", std::string(max_stored_namespace_length - 1, 'h')).size(),
              max_stored_namespace_length);
    // The operator's namespace, the Host alone, both: never one for another.
    const std::string plain = in_namespace("tenant2", "app");
    const std::string host = in_namespace(hosted_namespace("", "tenant2"), "app");
    const std::string both = in_namespace(hosted_namespace("tenant2", "tenant2"), "app");
    EXPECT_NE(plain, host);
    EXPECT_NE(host, both);
    std::string_view ns, name;
    ASSERT_TRUE(split_namespace(host, ns, name));
    EXPECT_EQ(ns, " tenant2");
    EXPECT_EQ(name, "app");
    ASSERT_TRUE(split_namespace(both, ns, name));
    EXPECT_EQ(ns, "tenant2 tenant2");
    // A space without a Host after it, or two spaces, is no namespace.
    for (const std::string& bad : {std::string("tenant2 \0app", 13), std::string(" \0app", 6),
                                   std::string("" "a b c\0app", 10)}) {
        EXPECT_FALSE(split_namespace(bad, ns, name)) << bad;
    }
}

TEST(UpstreamNamespace, AHostIsNamedAsNginxNamesIt) {
    EXPECT_EQ(host_name_of("TENANT2:8080"), "tenant2");
    EXPECT_EQ(host_name_of("registry.example.com."), "registry.example.com");
    EXPECT_EQ(host_name_of("[::1]:5000"), "[::1]");
    EXPECT_EQ(host_name_of(""), "");
}

TEST(UpstreamNamespace, KeysOfTwoNamespacesNeverMeet) {
    // (A digest's views point into its text, which must outlive it.)
    const std::string sha256_text = "sha256:" + std::string(64, 'a');
    const std::string sha512_text = "sha512:" + std::string(128, 'c');
    const Digest d = parse_digest(sha256_text).digest;
    const Key plain = link_key("library/alpine", d);
    const Key hub = link_key(in_namespace("docker.io", "library/alpine"), d);
    const Key ghcr = link_key(in_namespace("ghcr.io", "library/alpine"), d);
    ASSERT_FALSE(plain.empty());
    ASSERT_FALSE(hub.empty());
    ASSERT_FALSE(ghcr.empty());
    EXPECT_NE(plain.view(), hub.view());
    EXPECT_NE(hub.view(), ghcr.view());
    // A namespace that spells a repository's path cannot stand for it, nor the reverse.
    EXPECT_NE(link_key(in_namespace("docker.io", "library/alpine"), d).view(),
              link_key("docker.io/library/alpine", d).view());
    // The longest namespace with the longest name still makes a key LMDB takes.
    const Key longest = link_key(in_namespace(hosted_namespace(std::string(max_namespace_length, 'n'), std::string(15, 'h')),
                                              std::string(max_name_length, 'a')),
                                 parse_digest(sha512_text).digest);
    ASSERT_FALSE(longest.empty());
    EXPECT_LE(longest.view().size(), 511u);
    // An invalid name in a namespace is as invalid as without one.
    EXPECT_TRUE(link_key(in_namespace("docker.io", "Library/alpine"), d).empty());
    EXPECT_TRUE(tag_key(in_namespace("docker.io", "library/alpine"), "bad tag").empty());
    EXPECT_FALSE(tag_key(in_namespace("docker.io", "library/alpine"), "3.19").empty());
    EXPECT_TRUE(link_key(std::string("\x7f\0library/alpine", 16), d).empty());
}

TEST(UpstreamNamespace, TheContentKeyOfALinkIsFoundPastItsNamespace) {
    const std::string sha256_text = "sha256:" + std::string(64, 'a');
    const Digest d = parse_digest(sha256_text).digest;
    const Key content = content_key(d);
    for (const std::string& repository : {std::string("a/one"), in_namespace("ghcr.io", "a/one"),
                                          in_namespace(hosted_namespace("ghcr.io", "tenant2"), "a/one")}) {
        EXPECT_EQ(content_key_of_link(link_key(repository, d).view()), content.view()) << repository;
    }
    EXPECT_EQ(content_key_of_link(std::string("a/one\0\x01", 7)), "");
    EXPECT_EQ(content_key_of_link("a/one"), "");
    EXPECT_EQ(content_key_of_link(std::string("\x7fns", 3)), "");
}

TEST(UpstreamNamespace, PingHostsMayBeInANamespace) {
    EXPECT_TRUE(is_ping_host(in_namespace("ghcr.io", "localhost:8080")));
    EXPECT_FALSE(is_ping_host(in_namespace("ghcr.io", "Localhost")));
    EXPECT_FALSE(is_ping_host(std::string("\x7fghcr.io", 8)));
}

}  // namespace
}  // namespace registry_cache
