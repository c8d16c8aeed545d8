// cmd_report.cpp — `s3editor report`: parses its options and runs pipeline_report_run (pipeline/report.h).
#include <filesystem>

#include "app/stage.h"
#include "core/command_registry.h"
#include "core/errors.h"
#include "pipeline/report.h"

namespace s3e {
namespace {

int run_report(int argc, char** argv) {
  Stage stage("report",
              "One self-contained HTML page about a run, a chain or a sweep: lineage and configs, metric tables, "
              "training curves, group sparsity, ablation curves over seeds, ID and TL-ID along each video, frame "
              "strips and heat maps of the sparse masks and routing (docs/cli.md, \"report\").");
  stage.add_positional("run", 1, "folder to report on (a run, a chain root or a sweep), or as the positional "
                                 "argument (config: report.input)");
  stage.add_io("out", "report", Stage::Io::output, "HTML file to write (default <folder>/report.html)");
  stage.add_alias("chart-js", "report.chart_js", "the charting library's minified file");
  stage.add_alias("frames", "report.frames", "frames per video in its frame strip");
  stage.add_alias("max-videos", "report.max_videos", "videos shown per video-metrics file");
  pipeline_report_add_config(stage.schema());
  if (!stage.parse(argc, argv)) return 0;
  const auto given = stage.positional("run");
  std::filesystem::path input = given.empty() ? stage.config().get_text("report.input") : given[0];
  if (input.empty())
    throw UsageError("s3editor report: give the folder to report on (s3editor report FOLDER, or --run FOLDER)");
  const std::filesystem::path chart_js = report_find_chart_js(stage.config().get_text("report.chart_js"));
  // The default lies in the input folder, not the run folder: an absolute name replaces the run folder's path.
  const std::filesystem::path out =
      stage.io_output("report", std::filesystem::absolute(input / "report.html").lexically_normal().string());
  // stage.run() after io_output, so the effective config records the output path.
  const ReportOptions o{stage.run(), input, out, chart_js};
  return stage.finish(pipeline_report_run(stage.comm(), o));
}

CommandRegistration registration("report", "one self-contained HTML page with tables and charts of a run or sweep",
                                 run_report, pipeline_report_add_config);

}  // namespace
}  // namespace s3e
