#include "api/inference_pool.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace voxgate::api {

Status InferencePoolConfig::Validate() const {
  if (threads < 1 || threads > 256) {
    return InvalidArgumentError("inference.threads must be in [1, 256]");
  }
  if (queue_capacity < 0) return InvalidArgumentError("inference.queue_capacity must be >= 0");
  if (retry_after_s < 1) return InvalidArgumentError("inference.retry_after_s must be >= 1");
  return Status::Ok();
}

std::string InferencePoolConfig::ToString() const {
  return fmt::format("InferencePoolConfig{{threads={}, queue_capacity={}, retry_after_s={}}}",
                     threads, queue_capacity, retry_after_s);
}

Status InferencePoolConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("threads", &threads));
  VOXGATE_RETURN_IF_ERROR(node.Get("queue_capacity", &queue_capacity));
  VOXGATE_RETURN_IF_ERROR(node.Get("retry_after_s", &retry_after_s));
  return Status::Ok();
}

namespace {

std::shared_ptr<metrics::Registry> OrDefault(std::shared_ptr<metrics::Registry> r) {
  if (r) return r;
  return std::shared_ptr<metrics::Registry>(&metrics::Registry::Default(),
                                            [](metrics::Registry*) {});
}

std::vector<double> TaskBucketsS() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

}  // namespace

InferencePool::InferencePool(InferencePoolConfig config,
                             std::shared_ptr<metrics::Registry> registry, std::string name)
    : config_(std::move(config)),
      registry_(OrDefault(std::move(registry))),
      queue_depth_gauge_(registry_
                             ->GaugeFamily("voxgate_inference_queue_depth",
                                           "Tasks waiting for an inference worker.", {"pool"})
                             .WithLabels({name})),
      busy_gauge_(registry_
                      ->GaugeFamily("voxgate_inference_busy_workers",
                                    "Inference workers running a task.", {"pool"})
                      .WithLabels({name})),
      done_(registry_
                ->CounterFamily("voxgate_inference_tasks_total",
                                "Inference tasks by outcome (done, failed, rejected).",
                                {"pool", "outcome"})
                .WithLabels({name, "done"})),
      failed_(registry_
                  ->CounterFamily("voxgate_inference_tasks_total",
                                  "Inference tasks by outcome (done, failed, rejected).",
                                  {"pool", "outcome"})
                  .WithLabels({name, "failed"})),
      rejected_(registry_
                    ->CounterFamily("voxgate_inference_tasks_total",
                                    "Inference tasks by outcome (done, failed, rejected).",
                                    {"pool", "outcome"})
                    .WithLabels({name, "rejected"})),
      wait_s_(registry_
                  ->HistogramFamily("voxgate_inference_queue_wait_seconds",
                                    "Time a task waited for a worker, seconds.", {"pool"},
                                    TaskBucketsS())
                  .WithLabels({name})),
      run_s_(registry_
                 ->HistogramFamily("voxgate_inference_task_seconds",
                                   "Time a worker spent on a task, seconds.", {"pool"},
                                   TaskBucketsS())
                 .WithLabels({name})) {
  int n = std::max(1, config_.threads);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

InferencePool::~InferencePool() { Shutdown(std::chrono::seconds(30)); }

bool InferencePool::TrySubmit(Task task) {
  {
    std::lock_guard lock(mu_);
    // Queued tasks that idle workers are about to take do not count against the capacity, so a
    // free worker takes a task even with queue_capacity 0.
    size_t idle = workers_.size() - static_cast<size_t>(busy_);
    if (!accepting_ || queue_.size() >= static_cast<size_t>(config_.queue_capacity) + idle) {
      rejected_.Increment();
      return false;
    }
    queue_.push_back(Item{std::move(task), std::chrono::steady_clock::now()});
    queue_depth_gauge_.Set(static_cast<double>(queue_.size()));
  }
  work_cv_.notify_one();
  return true;
}

void InferencePool::WorkerLoop() {
  while (true) {
    Item item;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      queue_depth_gauge_.Set(static_cast<double>(queue_.size()));
      busy_gauge_.Set(busy_);
    }
    auto start = std::chrono::steady_clock::now();
    wait_s_.Observe(std::chrono::duration<double>(start - item.queued_at).count());
    bool ok = true;
    try {
      item.task();
    } catch (const std::exception& e) {
      ok = false;
      spdlog::error("inference task threw: {}", e.what());
    } catch (...) {
      ok = false;
      spdlog::error("inference task threw a non-exception");
    }
    item.task = nullptr;  // release captures (e.g. a Responder) before counting the task done
    run_s_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    (ok ? done_ : failed_).Increment();
    {
      std::lock_guard lock(mu_);
      --busy_;
      busy_gauge_.Set(busy_);
      if (queue_.empty() && busy_ == 0) drain_cv_.notify_all();
    }
  }
}

void InferencePool::Shutdown(std::chrono::milliseconds drain_timeout) {
  std::lock_guard shutdown_lock(shutdown_mu_);
  if (joined_) return;
  std::deque<Item> dropped;
  {
    std::unique_lock lock(mu_);
    accepting_ = false;
    drain_cv_.wait_for(lock, drain_timeout, [&] { return queue_.empty(); });
    dropped.swap(queue_);
    stop_ = true;
    queue_depth_gauge_.Set(0);
  }
  work_cv_.notify_all();
  if (!dropped.empty()) {
    spdlog::warn("inference pool: dropping {} queued tasks at shutdown", dropped.size());
  }
  dropped.clear();  // outside the lock: destroying a task may answer its Responder
  for (auto& t : workers_) t.join();
  joined_ = true;
}

size_t InferencePool::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

int InferencePool::busy_workers() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void SubmitOrReject(InferencePool& pool, Responder responder, std::function<void(Responder)> work) {
  // The task holds its own copy so that a refused submit can still answer with `responder`.
  bool queued =
      pool.TrySubmit([responder, work = std::move(work)]() mutable { work(std::move(responder)); });
  if (!queued) {
    responder.SendError(UnavailableError("the server is busy: the inference queue is full"),
                        pool.config().retry_after_s);
  }
}

}  // namespace voxgate::api
