// comm_config.h — the [dist] config keys every stage shares, and the communicator they describe. Stage adds the
// keys to every subcommand's schema and builds the communicator from them (Stage::comm()), so no stage creates
// one by hand and every collective goes through the communicator and its watchdog.
#pragma once
#include <memory>

#include "core/config.h"
#include "dist/communicator.h"

namespace s3e {

// dist.backend, dist.watchdog_s, dist.check_collectives, dist.max_message_mib, dist.overlap_backward,
// dist.heartbeat_s, dist.heartbeat_timeout_s.
void comm_add_config(ConfigSchema& schema);
CommOptions comm_options_from_config(const Config& config);
// Whether trainers reduce gradients from backward hooks (dist.overlap_backward, resolved for the backend).
bool comm_overlap_backward(const Config& config);
// The communicator over all ranks of the job, as the config's [dist] keys say.
std::unique_ptr<Communicator> comm_from_config(const Config& config);

}  // namespace s3e
