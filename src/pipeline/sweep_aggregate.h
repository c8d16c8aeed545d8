// sweep_aggregate.h — the results of a sweep in one table (docs/formats.md, "sweep.json"): every point's metrics
// (read from the file the grid names: eval-latent's s3editor.latent_metrics JSON, eval's s3editor.video_metrics
// JSON, or a CSV), grouped by parameter combination without the seed, with the mean and the sample standard
// deviation over seeds. Writes <sweep>/sweep.json and <sweep>/sweep.csv; a short text table for the terminal.
#pragma once
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/sweep_grid.h"

namespace s3e {

// Metric name -> value, in the file's order; NaN where the run could not measure it.
using SweepMetrics = std::vector<std::pair<std::string, double>>;

// Reads a point's metrics. JSON with a "summary" object: its numbers, nested objects flattened with '_'
// (summary.seen.success -> seen_success; eval-latent's counts "attributes" and "samples" are left out); other JSON:
// its top-level numbers. CSV: the numeric columns of the row whose first cell is "all", else of the last row.
// Throws DataError naming the file when it cannot be read or holds no metric.
SweepMetrics sweep_metrics_read(const std::filesystem::path& file);

struct SweepPointResult {
  SweepPoint point;
  std::filesystem::path folder;
  std::string status;     // "done", "failed", "pending"
  std::string detail;     // why failed (stage and exit code), "" otherwise
  SweepMetrics metrics;   // done points only
};

struct SweepRow {
  std::vector<std::pair<std::string, std::string>> params;  // without the seed axis
  int seeds = 0;                                            // done points in the combination
  std::vector<std::string> points;                          // their names
  SweepMetrics mean, std;                                   // std: sample (n - 1); NaN with fewer than 2 values
};

// Mean and sample standard deviation of the finite values (NaN ones are skipped); {NaN, NaN} when none,
// std NaN with one.
std::pair<double, double> sweep_mean_std(const std::vector<double>& values);

// One row per parameter combination (without the seed), in expansion order; metrics in order of first appearance.
std::vector<SweepRow> sweep_table(const SweepGrid& grid, const std::vector<SweepPointResult>& results);

// sweep.json (schema "s3editor.sweep", version 1).
nlohmann::ordered_json sweep_json(const SweepGrid& grid, const std::vector<SweepPointResult>& results,
                                  const std::vector<SweepRow>& rows);
// sweep.csv: the parameter keys, seeds, then <metric>_mean and <metric>_std per metric (empty where NaN).
std::string sweep_csv(const SweepGrid& grid, const std::vector<SweepRow>& rows);
// A few metrics as mean ± std per row, for the terminal (grid.table_metrics, else the first four).
std::string sweep_text_table(const SweepGrid& grid, const std::vector<SweepRow>& rows,
                             const std::vector<SweepPointResult>& results);

}  // namespace s3e
