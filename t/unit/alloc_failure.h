// An allocation-failure hook for unit tests: this test binary replaces the global operator
// new, which throws std::bad_alloc at the n-th allocation after fail_at(n), and counts
// allocations meanwhile. The code that nginx callbacks run must survive every such failure
// without an exception escaping, and report it instead of acting on half-made data.
#pragma once

#include <cstddef>

namespace alloc_failure {

// From now on, the allocation numbered `n` (0: the next one) and every later one fails,
// until disarm(). Allocations are counted either way.
void fail_at(std::size_t n) noexcept;
// Failures stop; counting restarts at 0.
void disarm() noexcept;
// Allocations since the last fail_at() or disarm().
std::size_t count() noexcept;
// Whether an allocation failed since the last fail_at().
bool failed() noexcept;

}  // namespace alloc_failure
