// Helpers of the Prometheus text exposition format 0.0.4: escaping and number formatting.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace voxgate::metrics {

/// The content type of RenderText() output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

/// HELP text: backslash -> \\, newline -> \n.
std::string EscapeHelp(std::string_view text);
/// Label value: backslash -> \\, double quote -> \", newline -> \n.
std::string EscapeLabelValue(std::string_view value);
/// Integers without a decimal point ("3"), others in shortest round-trip form ("0.25"),
/// "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
/// `{a="x",b="y"}` from parallel name/value lists plus an optional extra pair (e.g. le);
/// "" when there are no labels at all.
std::string FormatLabels(const std::vector<std::string>& names,
                         const std::vector<std::string>& values, std::string_view extra_name = {},
                         std::string_view extra_value = {});
/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
/// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
bool IsValidLabelName(std::string_view name);

}  // namespace voxgate::metrics
