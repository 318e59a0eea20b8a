#include "api/inference_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

namespace voxgate::api {
namespace {

// Holds pool tasks until opened. Declared after the pool, it opens on destruction, so a failing
// assertion cannot leave the pool joining a task that waits forever.
class Gate {
 public:
  ~Gate() { Open(); }
  void Open() {
    std::call_once(once_, [this] { promise_.set_value(); });
  }
  std::shared_future<void> future() const { return future_; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_ = promise_.get_future().share();
  std::once_flag once_;
};

InferencePoolConfig Config(int threads, int queue) {
  InferencePoolConfig c;
  c.threads = threads;
  c.queue_capacity = queue;
  c.retry_after_s = 2;
  return c;
}

TEST(InferencePoolTest, RunsTasks) {
  auto registry = std::make_shared<metrics::Registry>();
  std::atomic<int> done{0};
  InferencePool pool(Config(2, 8), registry);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] { ++done; }));
  }
  pool.Shutdown(std::chrono::seconds(5));
  EXPECT_EQ(done.load(), 8);
  std::string text = registry->RenderText();
  EXPECT_NE(text.find("voxgate_inference_tasks_total{pool=\"inference\",outcome=\"done\"} 8"),
            std::string::npos)
      << text;
}

TEST(InferencePoolTest, RefusesWhenFullAndReportsGauges) {
  auto registry = std::make_shared<metrics::Registry>();
  std::atomic<bool> started{false};
  InferencePool pool(Config(1, 1), registry);
  Gate gate;
  ASSERT_TRUE(pool.TrySubmit([&started, wait = gate.future()] {
    started = true;
    wait.wait();
  }));
  while (!started) std::this_thread::yield();
  ASSERT_TRUE(pool.TrySubmit([wait = gate.future()] { wait.wait(); }));  // the one queue slot
  EXPECT_FALSE(pool.TrySubmit([] {}));                                   // full
  EXPECT_EQ(pool.queue_depth(), 1u);
  EXPECT_EQ(pool.busy_workers(), 1);
  std::string text = registry->RenderText();
  EXPECT_NE(text.find("voxgate_inference_queue_depth{pool=\"inference\"} 1"), std::string::npos);
  EXPECT_NE(text.find("voxgate_inference_busy_workers{pool=\"inference\"} 1"), std::string::npos);
  EXPECT_NE(text.find("outcome=\"rejected\"} 1"), std::string::npos);
  gate.Open();
  pool.Shutdown(std::chrono::seconds(5));
  EXPECT_EQ(pool.queue_depth(), 0u);
  EXPECT_FALSE(pool.TrySubmit([] {}));  // shut down
}

TEST(InferencePoolTest, ZeroCapacityStillUsesIdleWorkers) {
  std::atomic<int> started{0};
  InferencePool pool(Config(2, 0), std::make_shared<metrics::Registry>());
  Gate gate;
  auto task = [&started, wait = gate.future()] {
    ++started;
    wait.wait();
  };
  ASSERT_TRUE(pool.TrySubmit(task));
  while (started < 1) std::this_thread::yield();
  ASSERT_TRUE(pool.TrySubmit(task));
  while (started < 2) std::this_thread::yield();
  EXPECT_FALSE(pool.TrySubmit([] {}));
}

TEST(InferencePoolTest, ShutdownDrainsQueuedTasks) {
  std::atomic<int> done{0};
  InferencePool pool(Config(1, 16), std::make_shared<metrics::Registry>());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ++done;
    }));
  }
  pool.Shutdown(std::chrono::seconds(10));
  EXPECT_EQ(done.load(), 10);
}

TEST(InferencePoolTest, ShutdownDropsWhatIsLeftAfterTheDrainTime) {
  std::atomic<int> done{0};
  InferencePool pool(Config(1, 16), std::make_shared<metrics::Registry>());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ++done;
    }));
  }
  pool.Shutdown(std::chrono::milliseconds(60));
  EXPECT_GE(done.load(), 1);
  EXPECT_LT(done.load(), 10);
}

TEST(InferencePoolTest, TaskExceptionsAreContained) {
  auto registry = std::make_shared<metrics::Registry>();
  InferencePool pool(Config(1, 4), registry);
  ASSERT_TRUE(pool.TrySubmit([] { throw std::runtime_error("boom"); }));
  std::atomic<bool> ran{false};
  ASSERT_TRUE(pool.TrySubmit([&] { ran = true; }));
  pool.Shutdown(std::chrono::seconds(5));
  EXPECT_TRUE(ran);
  EXPECT_NE(registry->RenderText().find("outcome=\"failed\"} 1"), std::string::npos);
}

TEST(InferencePoolTest, SubmitOrRejectAnswers503WithRetryAfterWhenFull) {
  std::promise<Response> first_response;
  std::promise<Response> second_response;
  Request request;
  request.set_request_id("req-1");
  std::atomic<bool> started{false};
  InferencePool pool(Config(1, 0), std::make_shared<metrics::Registry>());
  Gate gate;
  SubmitOrReject(pool, Responder::Create(request, [&](Response r) { first_response.set_value(r); }),
                 [&started, wait = gate.future()](Responder r) {
                   started = true;
                   wait.wait();
                   r.SendJson(200, {{"success", true}});
                 });
  while (!started) std::this_thread::yield();
  SubmitOrReject(pool,
                 Responder::Create(request, [&](Response r) { second_response.set_value(r); }),
                 [](Responder r) { r.SendJson(200, {}); });
  Response rejected = second_response.get_future().get();
  EXPECT_EQ(rejected.status, 503);
  EXPECT_EQ(FindParam(rejected.headers, "Retry-After"), "2");
  EXPECT_NE(rejected.body.find("\"error_code\":\"unavailable\""), std::string::npos);
  gate.Open();
  EXPECT_EQ(first_response.get_future().get().status, 200);
}

TEST(InferencePoolTest, ConfigLoadAndValidate) {
  auto node = ConfigNode::Parse("inference:\n  threads: 3\n  queue_capacity: 7\n");
  ASSERT_TRUE(node.ok());
  InferencePoolConfig c;
  ASSERT_TRUE(c.Load(node->Child("inference")).ok());
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.queue_capacity, 7);
  EXPECT_TRUE(c.Validate().ok());
  c.threads = 0;
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_NE(c.ToString().find("queue_capacity=7"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::api
