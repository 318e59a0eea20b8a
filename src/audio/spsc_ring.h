// SpscRing: a preallocated lock-free ring for exactly one producer thread and one consumer thread
// (acquire/release atomics, no locks, no allocation after construction). Used wherever audio
// crosses threads: a full ring refuses the push (the producer drops and counts), never blocks.
//
// Thread-safety: TryPush from one producer thread, TryPop/Front/Pop from one consumer thread,
// size()/capacity() from any thread (size is a snapshot).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace voxgate::audio {

template <typename T>
class SpscRing {
 public:
  /// `capacity` is rounded up to a power of two (at least 2).
  explicit SpscRing(size_t capacity) {
    size_t n = 2;
    while (n < capacity) n <<= 1;
    mask_ = n - 1;
    slots_ = std::make_unique<T[]>(n);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  /// Copies `item` in; false when full.
  bool TryPush(const T& item) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) return false;
    }
    slots_[head & mask_] = item;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  /// Copies the oldest item out; false when empty.
  bool TryPop(T& out) {
    const T* front = Front();
    if (front == nullptr) return false;
    out = *front;
    Pop();
    return true;
  }

  /// The oldest item, or null when empty; valid until Pop(). Avoids a copy of large items.
  const T* Front() {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (head_cache_ == tail) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (head_cache_ == tail) return nullptr;
    }
    return &slots_[tail & mask_];
  }
  /// Releases the item Front() returned. Precondition: Front() returned non-null.
  void Pop() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  size_t size() const {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }
  size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr size_t kLine = 64;
  size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
  alignas(kLine) std::atomic<size_t> head_{0};  // written by the producer
  size_t tail_cache_ = 0;                       // producer's view of tail_
  alignas(kLine) std::atomic<size_t> tail_{0};  // written by the consumer
  size_t head_cache_ = 0;                       // consumer's view of head_
};

}  // namespace voxgate::audio
