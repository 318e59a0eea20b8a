// Counts heap allocations made by the current thread inside a scope, to check that the per-packet
// paths do not allocate. The counting malloc/calloc/realloc live in alloc_counter_test.cc (they
// forward to glibc); under ASan/TSan, which own malloc, counting is unavailable and tests skip.
#pragma once

#include <cstdint>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VOXGATE_ALLOC_COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define VOXGATE_ALLOC_COUNTING 0
#endif
#endif
#ifndef VOXGATE_ALLOC_COUNTING
#define VOXGATE_ALLOC_COUNTING 1
#endif

namespace voxgate::telephony::testing {

/// Allocations (malloc, calloc, realloc, operator new) by this thread while counting is on.
uint64_t ThreadAllocations();
void SetAllocationCounting(bool on);

/// Counts this thread's allocations from construction to count().
class AllocationScope {
 public:
  AllocationScope() : start_(ThreadAllocations()) { SetAllocationCounting(true); }
  ~AllocationScope() { SetAllocationCounting(false); }
  uint64_t count() const { return ThreadAllocations() - start_; }

 private:
  uint64_t start_;
};

}  // namespace voxgate::telephony::testing

#if VOXGATE_ALLOC_COUNTING
#define VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING() \
  do {                                        \
  } while (0)
#else
#define VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING() \
  GTEST_SKIP() << "allocation counting is unavailable under sanitizers"
#endif
