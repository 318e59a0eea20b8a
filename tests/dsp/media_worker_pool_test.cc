// MediaWorkerPool: tasks are pumped on their worker, spread by count, never pumped after Detach()
// returns, and Attach()/Wake() do not wait for a pass in progress.
#include "dsp/media_worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace voxgate::dsp {
namespace {

using namespace std::chrono_literals;

// Counts its pumps; optionally blocks inside Pump() until released.
class CountingTask : public MediaTask {
 public:
  explicit CountingTask(bool block = false) : block_(block) {}
  void Pump() override {
    inside_.store(true);
    pumps_.fetch_add(1);
    if (block_) {
      std::unique_lock lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    inside_.store(false);
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // Waits up to 10 s for at least `n` pumps.
  bool WaitPumps(int n) {
    for (int i = 0; i < 1000 && pumps_.load() < n; ++i) std::this_thread::sleep_for(10ms);
    return pumps_.load() >= n;
  }
  int pumps() const { return pumps_.load(); }
  bool inside() const { return inside_.load(); }

 private:
  const bool block_;
  std::atomic<int> pumps_{0};
  std::atomic<bool> inside_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

TEST(MediaWorkerPoolTest, AttachedTasksArePumpedAndSpreadByCount) {
  MediaWorkerPool pool({2, 10});
  std::vector<std::shared_ptr<CountingTask>> tasks;
  std::vector<int> workers;
  for (int i = 0; i < 4; ++i) {
    tasks.push_back(std::make_shared<CountingTask>());
    workers.push_back(pool.Attach(tasks.back()));
  }
  EXPECT_EQ(pool.tasks(), 4u);
  EXPECT_EQ(std::count(workers.begin(), workers.end(), 0), 2);
  EXPECT_EQ(std::count(workers.begin(), workers.end(), 1), 2);
  for (auto& t : tasks) EXPECT_TRUE(t->WaitPumps(3));
  for (auto& t : tasks) pool.Detach(t);
  EXPECT_EQ(pool.tasks(), 0u);
}

TEST(MediaWorkerPoolTest, NoPumpAfterDetachReturns) {
  MediaWorkerPool pool({1, 1});
  auto task = std::make_shared<CountingTask>();
  pool.Attach(task);
  ASSERT_TRUE(task->WaitPumps(5));
  pool.Detach(task);
  EXPECT_FALSE(task->inside());
  const int after = task->pumps();
  std::this_thread::sleep_for(50ms);  // 50 ticks: any stray pump would show
  EXPECT_EQ(task->pumps(), after);
  EXPECT_EQ(pool.tasks(), 0u);
}

// The SIP thread attaches sessions and the network threads wake workers while a pass runs: they
// must not wait for it. (Detach does wait, by contract.)
TEST(MediaWorkerPoolTest, AttachAndWakeDoNotWaitForAPassInProgress) {
  MediaWorkerPool pool({1, 10});
  auto slow = std::make_shared<CountingTask>(/*block=*/true);
  const int worker = pool.Attach(slow);
  slow->WaitEntered();  // the worker is now inside a pass, blocked
  auto other = std::make_shared<CountingTask>();
  auto attached = std::async(std::launch::async, [&] {
    pool.Attach(other);
    pool.Wake(worker);
  });
  // A deadlock check, not a timing one: with the pass blocked forever, a waiting Attach would
  // never return.
  EXPECT_EQ(attached.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(pool.tasks(), 2u);
  EXPECT_EQ(other->pumps(), 0);  // not pumped while the pass is stuck
  slow->Release();
  EXPECT_TRUE(other->WaitPumps(1));  // joins the next pass
  auto detached = std::async(std::launch::async, [&] { pool.Detach(other); });
  EXPECT_EQ(detached.wait_for(10s), std::future_status::ready);
  pool.Detach(slow);
}

TEST(MediaWorkerPoolTest, DetachOfATaskNeverPumpedRemovesIt) {
  MediaWorkerPool pool({1, 1000});  // long tick: the task stays pending
  auto task = std::make_shared<CountingTask>();
  pool.Attach(task);
  pool.Detach(task);
  EXPECT_EQ(pool.tasks(), 0u);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(task->pumps(), 0);
}

}  // namespace
}  // namespace voxgate::dsp
