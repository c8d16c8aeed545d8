#include "dist/comm_config.h"

namespace s3e {

void comm_add_config(ConfigSchema& s) {
  s.add_choice("dist.backend", "mpi", {"mpi", "nccl"}, "communicator backend (nccl needs a CUDA build)")
      .add_real("dist.watchdog_s", 600, "a collective stalled longer than this aborts the job (0 = off)", 0, 1e6)
      .add_bool("dist.check_collectives", false, "debug: verify all ranks issue the same collective");
}

CommOptions comm_options_from_config(const Config& c) {
  CommOptions o;
  o.watchdog_timeout_s = c.get_real("dist.watchdog_s");
  o.check_collectives = c.get_bool("dist.check_collectives");
  return o;
}

std::unique_ptr<Communicator> comm_from_config(const Config& c) {
  return comm_create(c.get_text("dist.backend"), comm_options_from_config(c));
}

}  // namespace s3e
