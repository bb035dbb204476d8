// The one rule of what makes a request credentialed.
#include <gtest/gtest.h>

#include "registry_cache/policy/credentials.h"

namespace registry_cache {
namespace {

RequestCredentials with_query(std::string_view q) {
    RequestCredentials c;
    c.query = q;
    return c;
}

TEST(Credentials, AnAnonymousRequestCarriesNone) {
    EXPECT_FALSE(carries_credentials(RequestCredentials{}));
}

TEST(Credentials, EachHeaderAndTheClientCertificateCount) {
    RequestCredentials c;
    c.authorization = true;
    EXPECT_TRUE(carries_credentials(c));
    c = {};
    c.proxy_authorization = true;
    EXPECT_TRUE(carries_credentials(c));
    c = {};
    c.cookie = true;
    EXPECT_TRUE(carries_credentials(c));
    c = {};
    c.client_certificate = true;
    EXPECT_TRUE(carries_credentials(c));
}

TEST(Credentials, AnyQueryParameterButContainerdsNamespaceCounts) {
    EXPECT_TRUE(carries_credentials(with_query("token=abc")));
    EXPECT_TRUE(carries_credentials(with_query("ns=docker.io&token=abc")));
    EXPECT_TRUE(carries_credentials(with_query("token")));
    EXPECT_TRUE(carries_credentials(with_query("nsx=1")));
    EXPECT_TRUE(carries_credentials(with_query("n=1")));
    EXPECT_TRUE(carries_credentials(with_query("=x")));
    EXPECT_TRUE(carries_credentials(with_query("X-Amz-Signature=00&X-Amz-Expires=60")));
}

TEST(Credentials, ASemicolonSeparatesParametersToo) {
    EXPECT_TRUE(carries_credentials(with_query("ns=docker.io;token=abc")));
    EXPECT_TRUE(carries_credentials(with_query("token=abc;ns=docker.io")));
    EXPECT_FALSE(carries_credentials(with_query("ns=docker.io;;")));
}

TEST(Credentials, TheNamespaceMustNameAHost) {
    EXPECT_FALSE(carries_credentials(with_query("ns=registry.example.com:5000")));
    EXPECT_FALSE(carries_credentials(with_query("ns=[::1]:5000")));
    EXPECT_FALSE(carries_credentials(with_query("ns=my_registry-1.local")));
    EXPECT_TRUE(carries_credentials(with_query("ns=docker.io%26token%3Dabc")));
    // containerd encodes its query: a port's ':' and an IPv6 literal's brackets come so.
    EXPECT_FALSE(carries_credentials(with_query("ns=registry.example.com%3A5000")));
    EXPECT_FALSE(carries_credentials(with_query("ns=%5B%3A%3A1%5d%3a5000")));
    for (const char* other : {"ns=a%3", "ns=a%", "ns=a%3B", "ns=a%2F", "ns=a%3Atoken%3D1", "ns=%5"}) {
        EXPECT_TRUE(carries_credentials(with_query(other))) << other;
    }
    EXPECT_TRUE(carries_credentials(with_query("ns=docker.io,token")));
    EXPECT_TRUE(carries_credentials(with_query("ns=a b")));
    EXPECT_TRUE(carries_credentials(with_query("ns=a=b")));
}

TEST(Credentials, APushsOwnParametersNameObjectsNotClients) {
    RequestCredentials push = with_query("mount=sha256%3Aabc&from=library%2Fbase&ns=docker.io");
    EXPECT_TRUE(carries_credentials(push)) << "not a push: unknown parameters";
    push.push = true;
    EXPECT_FALSE(carries_credentials(push));
    push.query = "_state=AbC-dEf%3D%3D&digest=sha256%3Aabc";
    EXPECT_FALSE(carries_credentials(push));
    push.query = "digest=sha256%3Aabc&token=secret";
    EXPECT_TRUE(carries_credentials(push));
    push.query = "digest=x;access_token=secret";
    EXPECT_TRUE(carries_credentials(push));
    push.query = "digest=x";
    push.authorization = true;
    EXPECT_TRUE(carries_credentials(push));
}

TEST(Credentials, AnEmptyQueryOrOnlyTheNamespaceDoesNot) {
    EXPECT_FALSE(carries_credentials(with_query("")));
    EXPECT_FALSE(carries_credentials(with_query("ns=docker.io")));
    EXPECT_FALSE(carries_credentials(with_query("ns")));
    EXPECT_FALSE(carries_credentials(with_query("&&ns=ghcr.io&")));
}

}  // namespace
}  // namespace registry_cache
