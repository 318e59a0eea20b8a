#include "metrics/registry.h"

#include <spdlog/spdlog.h>

namespace voxgate::metrics {

namespace {

template <typename T>
constexpr MetricType TypeOf();
template <>
constexpr MetricType TypeOf<Counter>() {
  return MetricType::kCounter;
}
template <>
constexpr MetricType TypeOf<Gauge>() {
  return MetricType::kGauge;
}
template <>
constexpr MetricType TypeOf<Histogram>() {
  return MetricType::kHistogram;
}

}  // namespace

template <typename T>
Family<T>& Registry::GetOrCreate(const std::string& name, const std::string& help,
                                 const std::vector<std::string>& label_names,
                                 std::function<std::unique_ptr<T>()> make) {
  std::lock_guard lock(mu_);
  std::string problem;
  if (!IsValidMetricName(name)) problem = "invalid metric name";
  for (const auto& label : label_names) {
    if (!IsValidLabelName(label) || (TypeOf<T>() == MetricType::kHistogram && label == "le")) {
      problem = "invalid label name \"" + label + "\"";
    }
  }
  if (problem.empty()) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      auto family = std::make_unique<Family<T>>(name, help, label_names, std::move(make));
      Family<T>& ref = *family;
      families_.emplace(name, std::move(family));
      return ref;
    }
    if (it->second->type() == TypeOf<T>() && it->second->label_names() == label_names) {
      return static_cast<Family<T>&>(*it->second);
    }
    problem = "already registered with another type or other labels";
  }
  spdlog::error("metrics: cannot register \"{}\": {}; its values are not exported", name, problem);
  auto family = std::make_unique<Family<T>>(name, help, label_names, std::move(make));
  Family<T>& ref = *family;
  detached_.push_back(std::move(family));
  return ref;
}

Family<Counter>& Registry::CounterFamily(const std::string& name, const std::string& help,
                                         const std::vector<std::string>& label_names) {
  return GetOrCreate<Counter>(name, help, label_names, [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::GaugeFamily(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& label_names) {
  return GetOrCreate<Gauge>(name, help, label_names, [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::HistogramFamily(const std::string& name, const std::string& help,
                                             const std::vector<std::string>& label_names,
                                             const std::vector<double>& upper_bounds) {
  return GetOrCreate<Histogram>(name, help, label_names, [upper_bounds] {
    return std::make_unique<Histogram>(upper_bounds);
  });
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help) {
  return CounterFamily(name, help, {}).WithLabels(std::vector<std::string>{});
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help) {
  return GaugeFamily(name, help, {}).WithLabels(std::vector<std::string>{});
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::vector<double>& upper_bounds) {
  return HistogramFamily(name, help, {}, upper_bounds).WithLabels(std::vector<std::string>{});
}

std::string Registry::RenderText() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) family->RenderText(&out);
  return out;
}

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace voxgate::metrics
