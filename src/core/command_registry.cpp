#include "core/command_registry.h"

#include <algorithm>

namespace s3e {

namespace {
// Function-local static: registrations run during static initialisation in unspecified order.
std::vector<CommandInfo>& registry() {
  static std::vector<CommandInfo> commands;
  return commands;
}
}  // namespace

CommandRegistration::CommandRegistration(const char* name, const char* summary, CommandFunction run,
                                         CommandConfigFunction add_config) {
  registry().push_back({name, summary, run, add_config});
}

std::vector<CommandInfo> command_list() {
  auto list = registry();
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return list;
}

const CommandInfo* command_find(const std::string& name) {
  for (auto& c : registry())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace s3e
