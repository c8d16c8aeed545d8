// cmd_bench_allreduce.cpp — `s3editor bench-allreduce`: allreduce time, algbw and busbw (nccl-tests definitions)
// from 4 B to 256 MiB for each backend of this build, then the gradient-path comparisons of bench_buckets.h.
#include <fmt/format.h>

#include <cstdio>

#include "app/stage.h"
#include "core/command_registry.h"
#include "core/errors.h"
#include "dist/bench_allreduce.h"
#include "dist/comm_config.h"
#include "dist/communicator.h"
#ifdef S3E_HAVE_DIST_TORCH
#include "dist/bench_buckets.h"
#endif

namespace po = boost::program_options;

namespace s3e {
namespace {

size_t parse_size(const std::string& text) {
  size_t used = 0;
  double value = std::stod(text, &used);
  std::string unit = text.substr(used);
  double scale = unit.empty() || unit == "B" ? 1 : unit == "K" ? 1024.0 : unit == "M" ? 1048576.0
               : unit == "G" ? 1073741824.0 : -1;
  if (scale < 0 || value <= 0) throw UsageError(fmt::format("bench-allreduce: size '{}' is not like 4, 64K, 256M", text));
  return static_cast<size_t>(value * scale);
}

int bench_allreduce_main(int argc, char** argv) {
  Stage stage("bench-allreduce", "Allreduce time, algbw and busbw from 4 B to 256 MiB per backend, and the "
                                 "gradient-bucket comparisons (fused vs per-parameter, vs raw MPI, overlap).");
  stage.options().add_options()
      ("min-bytes", po::value<std::string>()->default_value("4"), "smallest message")
      ("max-bytes", po::value<std::string>()->default_value("256M"), "largest message")
      ("repeats", po::value<int>()->default_value(5), "repeats per measurement (medians are reported)")
      ("backends", po::value<std::string>()->default_value("all"), "mpi, nccl or all (those in this build)")
      ("no-sweep", "skip the message-size sweep")
      ("no-buckets", "skip the gradient-bucket comparisons")
      ("layers", po::value<int>()->default_value(64), "bucket model: Linear layers (2 tensors each)")
      ("width", po::value<int>()->default_value(256), "bucket model: layer width")
      ("batch", po::value<int>()->default_value(64), "bucket model: rows per step")
      ("bucket-repeats", po::value<int>()->default_value(9), "bucket comparisons: interleaved repeats");
  if (!stage.parse(argc, argv)) return 0;
  const auto& vars = stage.vars();
  const ProcessContext& ctx = stage.context();
  std::vector<std::string> backends = comm_backends_available();
  if (vars["backends"].as<std::string>() != "all") backends = {vars["backends"].as<std::string>()};
  int repeats = vars["repeats"].as<int>();
  auto say = [&](const std::string& text) {
    if (ctx.is_root()) {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    }
  };
  say(fmt::format("# bench-allreduce: {} ranks on {} node(s), {} thread(s) per rank, float32 sum, {} repeats, "
                  "medians; busbw = algbw * 2(n-1)/n\n",
                  ctx.world_size, ctx.node_count, stage.threads(), repeats));
  if (!vars.count("no-sweep")) {
    for (const auto& backend : backends) {
      CommOptions options = comm_options_from_config(stage.config());
      options.watchdog_timeout_s = 0;  // a benchmark measures; it must not also time a watchdog thread
      auto comm = comm_create(backend, options);
      say(fmt::format("# backend {}\n", backend));
      auto rows = bench_allreduce_sweep(*comm, parse_size(vars["min-bytes"].as<std::string>()),
                                        parse_size(vars["max-bytes"].as<std::string>()), repeats);
      say(bench_allreduce_format(rows, options.max_message_bytes));
    }
  }
#ifdef S3E_HAVE_DIST_TORCH
  if (!vars.count("no-buckets")) {
    BucketBenchOptions options;
    options.threads = stage.threads();
    options.layers = vars["layers"].as<int>();
    options.width = vars["width"].as<int>();
    options.batch = vars["batch"].as<int>();
    options.repeats = vars["bucket-repeats"].as<int>();
    CommOptions comm_options;
    comm_options.watchdog_timeout_s = 0;
    auto comm = comm_create("mpi", comm_options);
    say(bench_buckets_format(bench_buckets_run(*comm, options), options, ctx.world_size));
  }
#endif
  return 0;
}

CommandRegistration registration("bench-allreduce", "allreduce time/algbw/busbw per backend; gradient buckets vs "
                                                    "per-parameter and raw MPI",
                                 bench_allreduce_main);

}  // namespace
}  // namespace s3e
