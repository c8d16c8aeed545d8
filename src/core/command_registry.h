// command_registry.h — subcommands register themselves here (one static CommandRegistration per cmd_*.cpp),
// and main() dispatches on the first argument. Command files are compiled straight into the s3editor binary,
// so their static registrations are never dropped by the linker.
#pragma once
#include <string>
#include <vector>

namespace s3e {

using CommandFunction = int (*)(int argc, char** argv);  // argv[0] is the subcommand name
class ConfigSchema;
// Adds a subcommand's own config keys (its pipeline_<stage>_add_config): lets every stage know which keys of a
// shared INI file belong to another stage (config_resolve).
using CommandConfigFunction = void (*)(ConfigSchema& schema);

struct CommandInfo {
  std::string name;
  std::string summary;
  CommandFunction run;
  CommandConfigFunction add_config = nullptr;
};

struct CommandRegistration {
  CommandRegistration(const char* name, const char* summary, CommandFunction run,
                      CommandConfigFunction add_config = nullptr);
};

// All registered subcommands, sorted by name.
std::vector<CommandInfo> command_list();
const CommandInfo* command_find(const std::string& name);

}  // namespace s3e
