// video_metrics_report.h — the outputs of `s3editor eval` (docs/formats.md, "Video metrics"): each video's metrics
// as a JSON object (written by its work item), and the run's summary, aggregated by rank 0 in item order (so any
// rank count gives the same numbers): the mean over evaluated videos of every per-video metric (each video counts
// once, as STIT averages TL-ID and TG-ID per video), counts summed. JSON schema "s3editor.video_metrics" and a CSV
// with one row per video and a last row `all`.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace s3e {

inline constexpr const char* k_video_metrics_schema = "s3editor.video_metrics";

// Per-video metrics averaged over videos (NaN-free: a metric no video measured is null).
const std::vector<std::string>& video_metric_names();
// Per-video counts summed over videos.
const std::vector<std::string>& video_count_names();

// The summary of `videos` (per-video objects; those whose "evaluated" is false count only in "videos").
nlohmann::json video_metrics_summary(const std::vector<nlohmann::json>& videos);

// The whole document: {"schema", "version", "edited", "identity_net", "summary", "attributes", "side_judges",
// "videos"}.
nlohmann::json video_metrics_document(const std::vector<nlohmann::json>& videos, const std::string& edited,
                                      const std::string& identity_net);

// Header and one row per video, then "all" (the summary); columns id, status, counts, metrics.
std::string video_metrics_csv(const nlohmann::json& document);

// A few lines for the terminal.
std::string video_metrics_table(const nlohmann::json& document);

// A double as JSON: null when not finite.
nlohmann::json json_number_or_null(double value);

}  // namespace s3e
