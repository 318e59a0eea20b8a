// Registry: the set of metric families of a process (or of one server in tests), rendered in the
// Prometheus text exposition format 0.0.4 for GET /metrics. Thread-safe: families may be added
// and updated from any thread while another renders.
//
// Registration is get-or-create: asking twice for the same name with the same type and label
// names returns the same family, so independent components can share a registry. A conflicting
// or invalid registration never aborts: it logs an error and returns a detached family that works
// but is not exported.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/family.h"
#include "metrics/text_format.h"

namespace voxgate::metrics {

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& CounterFamily(const std::string& name, const std::string& help,
                                 const std::vector<std::string>& label_names);
  Family<Gauge>& GaugeFamily(const std::string& name, const std::string& help,
                             const std::vector<std::string>& label_names);
  /// `upper_bounds` are the bucket bounds without +Inf (e.g. DefaultLatencyBucketsS()).
  Family<Histogram>& HistogramFamily(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& label_names,
                                     const std::vector<double>& upper_bounds);

  /// Unlabelled shorthands.
  Counter& GetCounter(const std::string& name, const std::string& help);
  Gauge& GetGauge(const std::string& name, const std::string& help);
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& upper_bounds);

  /// All families sorted by name, each with HELP and TYPE lines; children sorted by label values.
  std::string RenderText() const;

  /// A process-wide registry for components that are not handed one.
  static Registry& Default();

 private:
  template <typename T>
  Family<T>& GetOrCreate(const std::string& name, const std::string& help,
                         const std::vector<std::string>& label_names,
                         std::function<std::unique_ptr<T>()> make);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
  std::vector<std::unique_ptr<FamilyBase>> detached_;  // rejected registrations, kept alive
};

}  // namespace voxgate::metrics
