#include "alloc_failure.h"

#include <cstdlib>
#include <new>

namespace alloc_failure {
namespace {

// Plain globals: operator new must not allocate to reach them. The unit tests run in one
// thread.
bool armed = false;
bool did_fail = false;
std::size_t fail_index = 0;
std::size_t allocations = 0;

}  // namespace

void fail_at(std::size_t n) noexcept {
    armed = true;
    did_fail = false;
    fail_index = n;
    allocations = 0;
}

void disarm() noexcept {
    armed = false;
    allocations = 0;
}

std::size_t count() noexcept { return allocations; }

bool failed() noexcept { return did_fail; }

// Returns memory, or null when this allocation is one that must fail.
void* allocate(std::size_t size) noexcept {
    std::size_t index = allocations++;
    if (armed && index >= fail_index) {
        did_fail = true;
        return nullptr;
    }
    return std::malloc(size == 0 ? 1 : size);
}

}  // namespace alloc_failure

void* operator new(std::size_t size) {
    void* p = alloc_failure::allocate(size);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

void* operator new[](std::size_t size) {
    void* p = alloc_failure::allocate(size);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return alloc_failure::allocate(size); }

void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return alloc_failure::allocate(size); }

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
