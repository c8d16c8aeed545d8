#include "dist/comm_config.h"

namespace s3e {

void comm_add_config(ConfigSchema& s) {
  s.add_choice("dist.backend", "mpi", {"mpi", "nccl"}, "communicator backend (nccl needs a CUDA build)")
      .add_real("dist.watchdog_s", 600, "a collective stalled longer than this aborts the job (0 = off)", 0, 1e6)
      .add_bool("dist.check_collectives", false, "debug: verify all ranks issue the same collective")
      .add_real("dist.max_message_mib", 16,
                "split allreduce/broadcast into messages of at most this many MiB (0 = never): OpenMPI's per-call "
                "scratch buffer above 32 MiB page-faults ~20x slower here (docs/distributed.md)", 0, 1 << 20)
      .add_choice("dist.overlap_backward", "auto", {"auto", "on", "off"},
                  "trainers launch gradient allreduces from backward hooks (on) or all after backward (off); auto = "
                  "on for nccl, off for mpi, where the hooks' nonblocking allreduces made steps up to 1.4x slower "
                  "(docs/distributed.md)");
}

bool comm_overlap_backward(const Config& c) {
  const std::string& v = c.get_text("dist.overlap_backward");
  return v == "on" || (v == "auto" && c.get_text("dist.backend") == "nccl");
}

CommOptions comm_options_from_config(const Config& c) {
  CommOptions o;
  o.watchdog_timeout_s = c.get_real("dist.watchdog_s");
  o.check_collectives = c.get_bool("dist.check_collectives");
  o.max_message_bytes = static_cast<size_t>(c.get_real("dist.max_message_mib") * double(1 << 20));
  return o;
}

std::unique_ptr<Communicator> comm_from_config(const Config& c) {
  return comm_create(c.get_text("dist.backend"), comm_options_from_config(c));
}

}  // namespace s3e
