#include "metrics/family.h"

#include "metrics/text_format.h"

namespace voxgate::metrics {

namespace {

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AppendSample(std::string* out, std::string_view name, std::string_view labels, double value) {
  *out += name;
  *out += labels;
  *out += ' ';
  *out += FormatValue(value);
  *out += '\n';
}

}  // namespace

void FamilyBase::RenderText(std::string* out) const {
  *out += "# HELP ";
  *out += name_;
  *out += ' ';
  *out += EscapeHelp(help_);
  *out += "\n# TYPE ";
  *out += name_;
  *out += ' ';
  *out += TypeName(type());
  *out += '\n';
  RenderSamples(out);
}

template <>
void Family<Counter>::RenderSamples(std::string* out) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    AppendSample(out, name_, FormatLabels(label_names_, values), child->value());
  }
}

template <>
void Family<Gauge>::RenderSamples(std::string* out) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    AppendSample(out, name_, FormatLabels(label_names_, values), child->value());
  }
}

template <>
void Family<Histogram>::RenderSamples(std::string* out) const {
  std::shared_lock lock(mu_);
  const std::string bucket_name = name_ + "_bucket";
  for (const auto& [values, child] : children_) {
    Histogram::Snapshot s = child->Collect();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < s.upper_bounds.size(); ++i) {
      cumulative += s.bucket_counts[i];
      AppendSample(out, bucket_name,
                   FormatLabels(label_names_, values, "le", FormatValue(s.upper_bounds[i])),
                   static_cast<double>(cumulative));
    }
    cumulative += s.bucket_counts.back();
    AppendSample(out, bucket_name, FormatLabels(label_names_, values, "le", "+Inf"),
                 static_cast<double>(cumulative));
    const std::string labels = FormatLabels(label_names_, values);
    AppendSample(out, name_ + "_sum", labels, s.sum);
    AppendSample(out, name_ + "_count", labels, static_cast<double>(s.count));
  }
}

}  // namespace voxgate::metrics
