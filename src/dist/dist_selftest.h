// dist_selftest.h — a miniature data-parallel training loop wired exactly as a trainer should be (sampler ->
// forward/backward -> GradReducer -> optimizer, checkpoints with per-rank RNG and sampler state, resume), used by
// `s3editor dist-selftest train` to prove on real MPI processes that an interrupted and resumed run ends with
// bit-identical weights, and that a process killed while writing a checkpoint leaves the previous one loadable.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "dist/communicator.h"

namespace s3e {

struct SelftestTrainOptions {
  std::filesystem::path checkpoint_dir;
  int64_t steps = 24;             // total optimizer steps of the run
  int64_t checkpoint_every = 4;
  int64_t stop_after = -1;        // >= 0: stop cleanly after this step's checkpoint (an interruption)
  int64_t kill_at_step = -1;      // >= 0: kill_rank SIGKILLs itself half-way through writing this checkpoint
  int kill_rank = 0;
  uint64_t seed = 1;
  int64_t samples = 203;          // not a multiple of any global batch: epochs end mid-batch
  int64_t batch = 5;              // per rank
  bool pad = true;
};

struct SelftestTrainResult {
  int64_t resumed_from = -1;      // step of the checkpoint resumed from (-1: fresh start)
  int64_t steps_done = 0;
  std::string weights_sha256;     // of the final parameters; checked equal on every rank
};

SelftestTrainResult selftest_train(Communicator& comm, const SelftestTrainOptions& options);

}  // namespace s3e
