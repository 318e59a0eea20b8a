// Family<T>: one metric name with labels; each distinct tuple of label values is a child T
// (Counter, Gauge or Histogram). Thread-safe. WithLabels takes a shared lock for the lookup (an
// exclusive one only to create a child), and children live as long as the family, so hot paths
// look a child up once and keep the reference.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/counter.h"
#include "metrics/gauge.h"
#include "metrics/histogram.h"

namespace voxgate::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

/// Rendering interface shared by all families (used by Registry).
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual MetricType type() const = 0;
  /// Appends the HELP, TYPE and sample lines of this family.
  void RenderText(std::string* out) const;

 protected:
  virtual void RenderSamples(std::string* out) const = 0;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

template <typename T>
class Family final : public FamilyBase {
 public:
  /// Children beyond this many are folded into one child whose labels are all "__overflow__", so
  /// a label fed from outside input cannot grow memory without bound.
  static constexpr size_t kMaxChildren = 10000;

  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<T>()> make)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
        make_(std::move(make)) {}

  /// The child for these label values (in label_names order; missing values are "", extra ones
  /// are dropped). The reference stays valid for the family's lifetime.
  T& WithLabels(std::vector<std::string> values) {
    values.resize(label_names_.size());
    {
      std::shared_lock lock(mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
    if (children_.size() >= kMaxChildren) {
      values.assign(label_names_.size(), "__overflow__");
      it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    return *children_.emplace(std::move(values), make_()).first->second;
  }
  T& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::vector<std::string>(values.begin(), values.end()));
  }

  MetricType type() const override;
  size_t size() const {
    std::shared_lock lock(mu_);
    return children_.size();
  }

 protected:
  void RenderSamples(std::string* out) const override;

 private:
  std::function<std::unique_ptr<T>()> make_;
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // sorted: stable output
};

template <>
inline MetricType Family<Counter>::type() const {
  return MetricType::kCounter;
}
template <>
inline MetricType Family<Gauge>::type() const {
  return MetricType::kGauge;
}
template <>
inline MetricType Family<Histogram>::type() const {
  return MetricType::kHistogram;
}

// Defined in family.cc for the three metric types.
template <>
void Family<Counter>::RenderSamples(std::string* out) const;
template <>
void Family<Gauge>::RenderSamples(std::string* out) const;
template <>
void Family<Histogram>::RenderSamples(std::string* out) const;

}  // namespace voxgate::metrics
