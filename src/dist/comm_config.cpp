#include "dist/comm_config.h"

#include <fmt/format.h>

#include "core/errors.h"

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
                  "(docs/distributed.md)")
      .add_real("dist.heartbeat_s", 2,
                "TCP heartbeats between rank 0 and every other rank this often, on a side channel; a rank silent for "
                "dist.heartbeat_timeout_s ends the job naming it and its host (0 = off; docs/distributed.md, "
                "\"Several hosts\")", 0, 3600)
      .add_real("dist.heartbeat_timeout_s", 60,
                "a rank whose heartbeat stopped this long is lost: exit 75 naming it (more than 2 x dist.heartbeat_s; "
                "keep it below dist.watchdog_s so the lost host is named before the stalled collective)", 0, 1e6);
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
  o.heartbeat_interval_s = c.get_real("dist.heartbeat_s");
  o.heartbeat_timeout_s = c.get_real("dist.heartbeat_timeout_s");
  if (o.heartbeat_interval_s > 0 && !(o.heartbeat_timeout_s > 2 * o.heartbeat_interval_s))
    throw UsageError(fmt::format("dist.heartbeat_timeout_s = {:g} must exceed 2 x dist.heartbeat_s = {:g} (or set "
                                 "dist.heartbeat_s = 0 to switch heartbeats off)",
                                 o.heartbeat_timeout_s, 2 * o.heartbeat_interval_s));
  return o;
}

std::unique_ptr<Communicator> comm_from_config(const Config& c) {
  return comm_create(c.get_text("dist.backend"), comm_options_from_config(c));
}

}  // namespace s3e
