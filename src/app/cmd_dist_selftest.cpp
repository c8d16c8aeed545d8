// cmd_dist_selftest.cpp — `s3editor dist-selftest <scenario>`: whole-job behaviours of the distributed runtime
// that only real MPI processes can show (the dist tests run it under mpiexec):
//   throw     one rank throws; every rank must exit non-zero, quickly, with "error on rank R (...)"
//   stall     one rank sleeps; the others' watchdog must end the job naming the stalled collective
//   mismatch  ranks issue different collectives with --check-collectives; the mismatch must be reported
//   train     a small data-parallel training run with checkpoints and resume (see dist/dist_selftest.h)
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "app/stage.h"
#include "core/command_registry.h"
#include "core/errors.h"
#include "dist/communicator.h"
#ifdef S3E_HAVE_DIST_TORCH
#include "dist/dist_selftest.h"
#endif

namespace po = boost::program_options;

namespace s3e {
namespace {

int dist_selftest_main(int argc, char** argv) {
  Stage stage("dist-selftest", "Failure and resume scenarios of the distributed runtime, for its tests: "
                               "throw | stall | mismatch | train.");
  stage.add_positional("scenario", 1, "throw, stall, mismatch or train");
  stage.options().add_options()
      ("fail-rank", po::value<int>()->default_value(-1), "rank that throws or stalls (default: the last)")
      ("watchdog-timeout", po::value<double>()->default_value(600), "collective watchdog timeout, seconds")
      ("check-collectives", "debug mode: compare collectives across ranks before each one")
      ("checkpoint-dir", po::value<std::string>()->default_value(""), "train: checkpoint folder (default run/ckpt)")
      ("steps", po::value<int64_t>()->default_value(24), "train: total steps")
      ("checkpoint-every", po::value<int64_t>()->default_value(4), "train: checkpoint interval in steps")
      ("stop-after", po::value<int64_t>()->default_value(-1), "train: stop after this step's checkpoint")
      ("kill-at-step", po::value<int64_t>()->default_value(-1), "train: SIGKILL while writing this checkpoint")
      ("drop", "train: drop the remainder of an epoch instead of padding");
  if (!stage.parse(argc, argv)) return 0;
  auto scenario = stage.positional("scenario");
  if (scenario.size() != 1) throw UsageError("dist-selftest: give one scenario: throw, stall, mismatch or train");
  const auto& vars = stage.vars();
  CommOptions options;
  options.watchdog_timeout_s = vars["watchdog-timeout"].as<double>();
  options.check_collectives = vars.count("check-collectives") > 0;
  auto comm = comm_create("mpi", options);
  int fail_rank = vars["fail-rank"].as<int>() >= 0 ? vars["fail-rank"].as<int>() : comm->size() - 1;
  std::vector<float> data(8, 1.0f);
  comm->barrier();

  if (scenario[0] == "throw") {
    if (comm->rank() == fail_rank) throw std::runtime_error("injected failure (dist-selftest throw)");
    // The other ranks wait in a collective that can never complete: only the abort may end them.
    comm->allreduce(data.data(), data.size(), DType::f32, ReduceOp::sum);
    comm->barrier();
  } else if (scenario[0] == "stall") {
    if (comm->rank() == fail_rank) std::this_thread::sleep_for(std::chrono::seconds(120));
    comm->allreduce(data.data(), data.size(), DType::f32, ReduceOp::sum);
  } else if (scenario[0] == "mismatch") {
    comm->allreduce(data.data(), data.size(), DType::f32, ReduceOp::sum);  // matched
    if (comm->rank() == fail_rank) comm->broadcast(data.data(), data.size() - 1, DType::f32, 0);
    else comm->allreduce(data.data(), data.size(), DType::f32, ReduceOp::sum);
  } else if (scenario[0] == "train") {
#ifdef S3E_HAVE_DIST_TORCH
    SelftestTrainOptions train;
    std::string dir = vars["checkpoint-dir"].as<std::string>();
    train.checkpoint_dir = dir.empty() ? stage.run_dir() / "ckpt" : std::filesystem::path(dir);
    train.steps = vars["steps"].as<int64_t>();
    train.checkpoint_every = vars["checkpoint-every"].as<int64_t>();
    train.stop_after = vars["stop-after"].as<int64_t>();
    train.kill_at_step = vars["kill-at-step"].as<int64_t>();
    train.kill_rank = fail_rank;
    train.seed = stage.seed();
    train.pad = vars.count("drop") == 0;
    SelftestTrainResult result = selftest_train(*comm, train);
    if (comm->rank() == 0)
      std::printf("resumed-from %lld\nsteps-done %lld\nfinal-weights-sha256 %s\n",
                  static_cast<long long>(result.resumed_from), static_cast<long long>(result.steps_done),
                  result.weights_sha256.c_str());
#else
    throw UsageError("dist-selftest train needs a build with LibTorch");
#endif
  } else {
    throw UsageError(fmt::format("dist-selftest: unknown scenario '{}'", scenario[0]));
  }
  comm->barrier();
  return 0;
}

CommandRegistration registration("dist-selftest", "internal: failure/resume scenarios of the distributed runtime",
                                 dist_selftest_main);

}  // namespace
}  // namespace s3e
