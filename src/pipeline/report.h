// pipeline/report.h — the report stage's driver: one self-contained HTML page about a run, a chain or a sweep
// (docs/cli.md, "report"): lineage and effective configs from the manifests, metric tables, training curves, group
// sparsity over time, ablation curves over seeds, ID and TL-ID along each video, frame strips (source | edited |
// change heat map) and heat maps of routing and sparse masks. What it shows is found by content under the input
// folder (pipeline/report_scan.h); charts are drawn by Apache ECharts, inlined into the page.
#pragma once
#include <filesystem>
#include <string>

#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/stage_run.h"

namespace s3e {

struct ReportOptions {
  StageRun run;
  std::filesystem::path input;     // the folder to report on
  std::filesystem::path out;       // the HTML file
  std::filesystem::path chart_js;  // the charting library's minified file (report_find_chart_js)
};

// Config keys of the stage (report.*, and io.report when the shared [io] vocabulary lacks it).
void pipeline_report_add_config(ConfigSchema& schema);

// The charting library: `configured` when given (UsageError when it is not a file), else echarts.min.js in the npm
// cache that jobs/setup.sh fills (UsageError telling to run it when absent).
std::filesystem::path report_find_chart_js(const std::string& configured);

// Rank 0 scans options.input and writes options.out (atomically); other ranks return at once. Returns 0.
int pipeline_report_run(Communicator& comm, const ReportOptions& options);

}  // namespace s3e
