// Counting wrappers around glibc's allocator for alloc_counter.h. glibc documents replacing
// malloc/free/calloc/realloc in the executable; these forward to its own entry points, so every
// library in the test binary keeps working unchanged. Compiled out under sanitizers.
#include "alloc_counter.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace voxgate::telephony::testing {
namespace {
thread_local bool g_counting = false;
thread_local uint64_t g_allocations = 0;
}  // namespace

uint64_t ThreadAllocations() { return g_allocations; }
void SetAllocationCounting(bool on) { g_counting = on; }

}  // namespace voxgate::telephony::testing

#if VOXGATE_ALLOC_COUNTING
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void __libc_free(void* p);

void* malloc(size_t size) {
  if (voxgate::telephony::testing::g_counting) ++voxgate::telephony::testing::g_allocations;
  return __libc_malloc(size);
}
void* calloc(size_t n, size_t size) {
  if (voxgate::telephony::testing::g_counting) ++voxgate::telephony::testing::g_allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) {
  if (voxgate::telephony::testing::g_counting) ++voxgate::telephony::testing::g_allocations;
  return __libc_realloc(p, size);
}
void free(void* p) { __libc_free(p); }
}
#endif

namespace voxgate::telephony::testing {
namespace {

// The counter itself must see allocations, or every "no allocation" test would pass vacuously.
TEST(AllocCounterTest, SeesMallocAndNew) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  AllocationScope scope;
  auto p = std::make_unique<std::vector<int>>(100);
  void* volatile raw = std::malloc(16);
  std::free(raw);
  EXPECT_GE(scope.count(), 3u);
}

TEST(AllocCounterTest, CountsNothingWithoutAllocation) {
  VOXGATE_SKIP_WITHOUT_ALLOC_COUNTING();
  std::vector<int> v(100);
  AllocationScope scope;
  for (int& x : v) x += 1;
  EXPECT_EQ(scope.count(), 0u);
}

}  // namespace
}  // namespace voxgate::telephony::testing
