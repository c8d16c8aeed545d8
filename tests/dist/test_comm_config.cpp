// dist/comm_config.h: the [dist] keys resolve to communicator options and to the trainers' overlap choice.
#include <gtest/gtest.h>

#include "core/config.h"
#include "dist/comm_config.h"

using namespace s3e;

namespace {

Config resolved(const ConfigSchema& schema, const std::vector<std::pair<std::string, std::string>>& set) {
  return config_resolve(schema, {}, set);
}

}  // namespace

TEST(CommConfig, OverlapBackwardAutoIsOffForMpiAndOnForNccl) {
  ConfigSchema schema;
  comm_add_config(schema);
  EXPECT_FALSE(comm_overlap_backward(resolved(schema, {})));  // default: auto with the mpi backend
  EXPECT_TRUE(comm_overlap_backward(resolved(schema, {{"dist.backend", "nccl"}})));
  EXPECT_TRUE(comm_overlap_backward(resolved(schema, {{"dist.overlap_backward", "on"}})));
  EXPECT_FALSE(comm_overlap_backward(resolved(schema, {{"dist.backend", "nccl"}, {"dist.overlap_backward", "off"}})));
}

TEST(CommConfig, MaxMessageMibBecomesBytes) {
  ConfigSchema schema;
  comm_add_config(schema);
  EXPECT_EQ(comm_options_from_config(resolved(schema, {})).max_message_bytes, size_t(16) << 20);
  EXPECT_EQ(comm_options_from_config(resolved(schema, {{"dist.max_message_mib", "0.5"}})).max_message_bytes,
            size_t(512) << 10);
}
