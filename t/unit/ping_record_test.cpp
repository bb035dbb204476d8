// The upstream's last answer to a ping: kept only when it can be replayed as it was (a 200 or
// a 401, header values that cannot break a response), read back the same, refused damaged;
// and in the store, one record that a reopened file still holds.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "registry_cache/ping_record.h"
#include "registry_cache/store.h"

namespace registry_cache {
namespace {

namespace fs = std::filesystem;

const char* const challenge =
    R"(Bearer realm="https://auth.example/token",service="registry.example")";

PingRecord sample(int status = 401) {
    PingRecord r;
    r.status = status;
    r.stored_at = 0x0102030405060708ull;
    r.www_authenticate = status == 401 ? challenge : "";
    r.api_version = "registry/2.0";
    return r;
}

TEST(PingRecord, RoundTripsA401AndA200) {
    for (int status : {200, 401}) {
        const PingRecord r = sample(status);
        const std::string bytes = encode(r);
        ASSERT_FALSE(bytes.empty());
        PingRecord out;
        ASSERT_EQ(decode(bytes, out), DecodeStatus::ok);
        EXPECT_EQ(out.status, status);
        EXPECT_EQ(out.stored_at, r.stored_at);
        EXPECT_EQ(out.www_authenticate, r.www_authenticate);
        EXPECT_EQ(out.api_version, "registry/2.0");
        EXPECT_TRUE(same_answer(out, r));
    }
}

TEST(PingRecord, OnlyAnAnswerThatSaysTheRegistryIsThere) {
    for (int status : {0, 201, 204, 301, 403, 404, 429, 500, 502, 503, 65535}) {
        EXPECT_FALSE(is_replayable_ping(status, "", "registry/2.0")) << status;
        EXPECT_TRUE(encode(sample(status)).empty()) << status;
    }
}

TEST(PingRecord, NoHeaderValueThatCouldBreakAResponse) {
    EXPECT_FALSE(is_replayable_ping(401, "Bearer realm=\"x\"\r\nSet-Cookie: a=b", ""));
    EXPECT_FALSE(is_replayable_ping(401, std::string("Bearer\0", 7), ""));
    EXPECT_FALSE(is_replayable_ping(200, "", "registry/2.0\n"));
    EXPECT_FALSE(is_replayable_ping(200, "", "r\x80"));
    EXPECT_FALSE(is_replayable_ping(401, std::string(max_ping_challenge + 1, 'a'), ""));
    EXPECT_FALSE(is_replayable_ping(200, "", std::string(max_ping_api_version + 1, 'a')));
    EXPECT_TRUE(is_replayable_ping(401, std::string(max_ping_challenge, 'a'),
                                   std::string(max_ping_api_version, 'b')));
}

TEST(PingRecord, ADamagedRecordIsNeverReadAsAnAnswer) {
    const std::string bytes = encode(sample());
    PingRecord out = sample(200);
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
        EXPECT_EQ(decode(bytes.substr(0, cut), out), DecodeStatus::damaged) << cut;
    }
    EXPECT_EQ(decode(bytes + "x", out), DecodeStatus::damaged);
    EXPECT_EQ(decode("", out), DecodeStatus::damaged);
    std::string unknown = bytes;
    unknown[0] = 2;
    EXPECT_EQ(decode(unknown, out), DecodeStatus::unknown_version);
    std::string bad_status = bytes;
    bad_status[1] = static_cast<char>(0xf7);  // 503
    bad_status[2] = 1;
    EXPECT_EQ(decode(bad_status, out), DecodeStatus::damaged);
    std::string newline = bytes;
    newline[newline.find("Bearer")] = '\n';  // in the challenge
    EXPECT_EQ(decode(newline, out), DecodeStatus::damaged);
    EXPECT_EQ(out.status, 200) << "left untouched";
}

class PingStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "registry-cache-ping-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        options_.directory = dir_.string();
        options_.map_size = 4u << 20;
        options_.max_readers = 8;
        reopen();
    }
    void TearDown() override {
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void reopen() {
        store_.reset();
        std::string error;
        store_ = Store::open(options_, error);
        if (!store_) throw std::runtime_error("open failed: " + error);
    }
    static StoreWrite write(const PingRecord& ping, std::string host = "edge.example") {
        StoreWrite w;
        w.object = StoreWrite::Object::ping;
        w.repository = std::move(host);
        w.ping = ping;
        return w;
    }

    fs::path dir_;
    StoreOptions options_;
    std::unique_ptr<Store> store_;
};

TEST_F(PingStoreTest, NoneUntilTheUpstreamAnswered) {
    PingRecord out;
    std::string error;
    EXPECT_EQ(store_->lookup_ping("edge.example", out, &error), LookupStatus::miss);
    EXPECT_TRUE(error.empty()) << error;
}

TEST_F(PingStoreTest, TheLastAnswerIsKeptAcrossAReopen) {
    std::string error;
    ASSERT_TRUE(store_->commit({write(sample(200))}, error)) << error;
    ASSERT_TRUE(store_->commit({write(sample(401))}, error)) << error;
    reopen();
    PingRecord out;
    ASSERT_EQ(store_->lookup_ping("edge.example", out, &error), LookupStatus::hit) << error;
    EXPECT_TRUE(same_answer(out, sample(401)));
    EXPECT_EQ(out.stored_at, sample().stored_at);
}

TEST_F(PingStoreTest, AnAnswerThatCannotBeReplayedFailsTheBatch) {
    std::string error;
    PingRecord broken = sample(401);
    broken.www_authenticate += "\r\nX-Injected: 1";
    EXPECT_FALSE(store_->commit({write(sample(200)), write(broken)}, error));
    EXPECT_NE(error.find("invalid upstream answer"), std::string::npos) << error;
    PingRecord out;
    EXPECT_EQ(store_->lookup_ping("edge.example", out), LookupStatus::miss) << "nothing of the batch applied";
    StoreWrite forget = write(sample(200));
    forget.kind = StoreWrite::Kind::clear_link;
    EXPECT_FALSE(store_->commit({forget}, error));
}

TEST(PingRecord, HostsAKeyMayHold) {
    EXPECT_TRUE(is_ping_host("edge.example"));
    EXPECT_TRUE(is_ping_host("127.0.0.1:8080"));
    EXPECT_TRUE(is_ping_host("[::1]:5000"));
    EXPECT_FALSE(is_ping_host(""));
    EXPECT_FALSE(is_ping_host("Edge.Example")) << "nginx lowercases the Host it validated";
    EXPECT_FALSE(is_ping_host("a b"));
    EXPECT_FALSE(is_ping_host(std::string("a\0b", 3)));
    EXPECT_FALSE(is_ping_host(std::string(max_ping_host + 1, 'a')));
}

TEST_F(PingStoreTest, EachHostHasItsOwnAnswer) {
    std::string error;
    PingRecord other = sample(401);
    other.www_authenticate = R"(Bearer realm="https://other.example/token")";
    ASSERT_TRUE(store_->commit({write(sample(401)), write(other, "other.example")}, error)) << error;
    PingRecord out;
    ASSERT_EQ(store_->lookup_ping("edge.example", out), LookupStatus::hit);
    EXPECT_TRUE(same_answer(out, sample(401)));
    ASSERT_EQ(store_->lookup_ping("other.example", out), LookupStatus::hit);
    EXPECT_TRUE(same_answer(out, other));
    EXPECT_EQ(store_->lookup_ping("third.example", out), LookupStatus::miss);
}

TEST_F(PingStoreTest, AtMostSoManyHostsAndTheKeptOnesStillChange) {
    std::string error;
    for (std::size_t i = 0; i < max_ping_hosts + 4; ++i) {
        ASSERT_TRUE(store_->commit({write(sample(200), "h" + std::to_string(i) + ".example")}, error)) << error;
    }
    PingRecord out;
    EXPECT_EQ(store_->lookup_ping("h0.example", out), LookupStatus::hit);
    EXPECT_EQ(store_->lookup_ping("h" + std::to_string(max_ping_hosts - 1) + ".example", out), LookupStatus::hit);
    EXPECT_EQ(store_->lookup_ping("h" + std::to_string(max_ping_hosts) + ".example", out), LookupStatus::miss)
        << "a Host too many is not kept";
    ASSERT_TRUE(store_->commit({write(sample(401), "h0.example")}, error)) << error;
    ASSERT_EQ(store_->lookup_ping("h0.example", out), LookupStatus::hit);
    EXPECT_EQ(out.status, 401) << "a kept Host's answer still changes";
    EXPECT_FALSE(store_->commit({write(sample(200), "Not A Host")}, error)) << "an invalid Host fails the batch";
}

}  // namespace
}  // namespace registry_cache
