// pipeline/report_charts.h — the report's charts as data (ReportChart, pipeline/report_html.h), made from what
// the scan found: training curves and group sparsity from a training log, ablation curves (a metric against each
// axis of a sweep, the mean over seeds with their spread as error bars), identity and temporal identity along a
// video, and heat maps of routing and sparse masks. A function returns no chart where its data has no number, so
// every chart on the page has something to draw.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/report_html.h"
#include "pipeline/report_scan.h"

namespace s3e {

// Which chart a column of a training log goes to.
enum class ReportColumnKind { step, loss, sparsity, rate };
ReportColumnKind report_column_kind(const std::string& key);

// Loss terms (one chart: every numeric key that is neither sparsity nor a rate), group sparsity and throughput
// of one training log; `figure` prefixes the figures' names, `label` names the run in titles.
std::vector<ReportChart> report_train_charts(const ReportTrainLog& log, const std::string& figure,
                                             const std::string& label);

// One row of a sweep's table: a setting (its parameters without the seed), how many seeds, mean and spread.
struct ReportSweepRow {
  std::vector<std::pair<std::string, std::string>> params;  // sorted by key
  int seeds = 0;
  std::vector<std::pair<std::string, double>> mean, std;    // by metric, in the sweep's order
};
// The sweep's "table" when present, else its done points grouped by parameters without the seed key (mean and
// sample standard deviation over seeds; 0 for one seed).
std::vector<ReportSweepRow> report_sweep_rows(const nlohmann::json& sweep);
// One chart per axis with two or more values and per metric: the metric against the axis, one series per
// setting of the other axes, error bars = the spread over seeds.
std::vector<ReportChart> report_ablation_charts(const nlohmann::json& sweep, const std::string& figure);

// ID and TL-ID along one video of a video_metrics file (its per_frame arrays); none when both are null. `title`
// names the video.
std::vector<ReportChart> report_video_id_charts(const nlohmann::json& video, const std::string& figure,
                                                const std::string& title);

// A heat map of a matrix.
ReportChart report_heatmap_chart(const ReportMatrix& matrix, const std::string& figure, const std::string& title);

}  // namespace s3e
