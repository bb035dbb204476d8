// The fixture the store's tests share: a store of its own for each test, in a temporary
// directory that goes with it. A test's fixture derives from it and may change options_ in
// its constructor (a smaller map, to make eviction run).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "registry_cache/store.h"

namespace registry_cache {

// A blob's link in `repository`: three bytes of application/octet-stream.
inline StoreWrite blob_link(const std::string& repository, const std::string& digest,
                            std::uint64_t stored_at = 1700000000) {
    StoreWrite w;
    w.object = StoreWrite::Object::blob;
    w.repository = repository;
    w.digest = digest;
    w.descriptor.size = 3;
    EXPECT_TRUE(w.descriptor.media_type.assign("application/octet-stream"));
    w.link.stored_at = stored_at;
    return w;
}

// The record of a blob's body of three bytes on the store's disk.
inline StoreWrite blob_body(const std::string& digest, std::uint64_t stored_at = 1700000000) {
    StoreWrite w;
    w.object = StoreWrite::Object::blob_body;
    w.digest = digest;
    w.descriptor.size = 3;
    w.link.stored_at = stored_at;
    return w;
}

class TempStoreTest : public ::testing::Test {
protected:
    TempStoreTest() {
        options_.map_size = 16u << 20;
        options_.max_readers = 8;
    }
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "registry-cache-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        options_.directory = dir_.string();
        std::string error;
        store_ = Store::open(options_, error);
        ASSERT_NE(store_, nullptr) << error;
    }
    void TearDown() override {
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    void commit(const std::vector<StoreWrite>& batch) {
        std::string error;
        ASSERT_TRUE(store_->commit(batch, error)) << error;
    }
    StoreStats stats() {
        StoreStats s;
        std::string error;
        EXPECT_TRUE(store_->stats(s, error)) << error;
        return s;
    }

    std::filesystem::path dir_;
    StoreOptions options_;
    std::unique_ptr<Store> store_;
};

}  // namespace registry_cache
