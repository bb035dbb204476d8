// What nginx callbacks call from the core, under every allocation failure (alloc_failure.h):
// no exception escapes a noexcept function, a failure is reported rather than half done, and
// the hit path allocates nothing at all.
#include <gtest/gtest.h>

#include "temp_store.h"

#include <stdlib.h>

#include <filesystem>
#include <new>
#include <string>

#include "alloc_failure.h"
#include "registry_cache/learn.h"
#include "registry_cache/policy/body_check.h"
#include "registry_cache/policy/credentials.h"
#include "registry_cache/store.h"
#include "registry_cache/store_write.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string path_a = "/v2/library/alpine/blobs/" + digest_a;

// Disarms the hook however a test ends, so that gtest's own allocations never fail.
struct Armed {
    explicit Armed(std::size_t n) noexcept { alloc_failure::fail_at(n); }
    ~Armed() { alloc_failure::disarm(); }
};

BlobDescriptor descriptor_of(std::uint64_t size) {
    BlobDescriptor d;
    d.size = size;
    d.stored_at = 1700000000;
    EXPECT_TRUE(d.media_type.assign("application/vnd.oci.image.layer.v1.tar+gzip"));
    return d;
}

// Whether this binary's operator new is the hook's. Under valgrind, whose own replaces it,
// nothing can be made to fail nor be counted: the tests then skip rather than pass unseen.
bool hook_in_place() {
    Armed armed(0);
    try {
        ::operator delete(::operator new(1));  // a call, which no compiler may elide
        return false;
    } catch (const std::bad_alloc&) {
        return true;
    }
}

#define REQUIRE_ALLOCATION_HOOK()                                                   \
    if (!hook_in_place()) GTEST_SKIP() << "operator new is not this binary's (valgrind?)"

TEST(OutOfMemory, AStoreWriteIsWholeOrReportedMissing) {
    REQUIRE_ALLOCATION_HOOK();
    Route route = parse_route(path_a);
    BlobDescriptor d = descriptor_of(42);
    bool succeeded_once = false;
    for (std::size_t n = 0; n < 8; ++n) {
        StoreWrite w;
        bool ok;
        {
            Armed armed(n);
            ok = make_store_write(Lesson::record, route, d, LinkScope::public_access, w);
        }
        if (ok) {
            succeeded_once = true;
            EXPECT_EQ(w.repository, "library/alpine") << n;
            EXPECT_EQ(w.digest, digest_a) << n;
            EXPECT_EQ(w.descriptor.size, 42u) << n;
        } else {
            EXPECT_TRUE(w.repository.empty() && w.digest.empty()) << n;
        }
    }
    EXPECT_TRUE(succeeded_once) << "with enough memory the write is made";
}

TEST(OutOfMemory, AManifestWriteIsWholeWithItsBodyOrReportedMissing) {
    REQUIRE_ALLOCATION_HOOK();
    const std::string body(300, 'm');  // longer than any small-string buffer
    Route route = parse_route("/v2/library/alpine/manifests/" + digest_a);
    BlobDescriptor d = descriptor_of(body.size());
    bool succeeded_once = false;
    for (std::size_t n = 0; n < 8; ++n) {
        StoreWrite w;
        bool ok;
        {
            Armed armed(n);
            ok = make_store_write(Lesson::record, route, d, LinkScope::public_access, w, body);
        }
        if (ok) {
            succeeded_once = true;
            EXPECT_EQ(w.object, StoreWrite::Object::manifest) << n;
            EXPECT_EQ(w.body, body) << n;
        } else {
            EXPECT_TRUE(w.repository.empty() && w.digest.empty() && w.body.empty()) << n;
        }
    }
    EXPECT_TRUE(succeeded_once) << "with enough memory the write is made";
    // Without its bytes a manifest is not recorded at all.
    StoreWrite w;
    EXPECT_FALSE(make_store_write(Lesson::record, route, d, LinkScope::public_access, w));
}

TEST(OutOfMemory, DecisionsOnTheRequestPathAllocateNothing) {
    REQUIRE_ALLOCATION_HOOK();
    Route route = parse_route(path_a);
    UpstreamAnswer answer;
    answer.path = path_a;
    answer.status = 200;
    answer.docker_content_digest = digest_a;
    answer.content_length = 5;
    answer.content_type = "application/octet-stream";
    BodyExchange exchange;
    exchange.method = Method::get;
    exchange.status = 200;
    RequestCredentials credentials;
    credentials.query = "ns=docker.io&token=x";

    Armed armed(0);  // any allocation would throw, or fail the checks below
    BlobDescriptor d;
    EXPECT_EQ(learn(route, Method::head, answer, 1, d), Lesson::record);
    EXPECT_EQ(learn_verified(route, digest_a, 5, "application/octet-stream", 1, d), Lesson::record);
    EXPECT_EQ(plan_body(route, exchange).check, BodyCheck::verify);
    EXPECT_TRUE(carries_credentials(credentials));
    EXPECT_TRUE(changes_bytes("identity, gzip"));
    EXPECT_EQ(alloc_failure::count(), 0u);
}

class StoreOutOfMemory : public TempStoreTest {
protected:
    StoreWrite write_for(const std::string& repository) {
        StoreWrite w;
        w.repository = repository;
        w.digest = digest_a;
        w.descriptor = descriptor_of(7);
        w.link.stored_at = 1700000000;
        return w;
    }

    LookupStatus status(const std::string& repository) {
        return store_->lookup(repository, parse_digest(digest_a).digest).status;
    }

};

TEST_F(StoreOutOfMemory, ALookupAllocatesNothing) {
    REQUIRE_ALLOCATION_HOOK();
    std::string error;
    ASSERT_TRUE(store_->commit({write_for("library/alpine")}, error)) << error;
    Digest digest = parse_digest(digest_a).digest;
    Armed armed(0);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(store_->lookup("library/alpine", digest).status, LookupStatus::hit);
        ASSERT_EQ(store_->lookup("library/busybox", digest).status, LookupStatus::miss);
    }
    EXPECT_FALSE(alloc_failure::failed());
}

TEST_F(StoreOutOfMemory, ACommitIsWholeOrNothing) {
    REQUIRE_ALLOCATION_HOOK();
    const std::vector<StoreWrite> batch = {write_for("a/one"), write_for("a/two"), write_for("a/three")};
    bool committed = false;
    for (std::size_t n = 0; !committed && n < 64; ++n) {
        std::string error;
        {
            Armed armed(n);
            committed = store_->commit(batch, error);
        }
        int hits = (status("a/one") == LookupStatus::hit) + (status("a/two") == LookupStatus::hit) +
                   (status("a/three") == LookupStatus::hit);
        if (n == 0) {
            EXPECT_FALSE(committed) << "a commit needs memory: the hook must bite";
        }
        if (committed) {
            EXPECT_EQ(hits, 3) << n;
        } else {
            EXPECT_EQ(hits, 0) << "a failed commit applies nothing (failure at allocation " << n << ")";
        }
    }
    EXPECT_TRUE(committed) << "with enough memory the batch commits";
}

}  // namespace
}  // namespace registry_cache
