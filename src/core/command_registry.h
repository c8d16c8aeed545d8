// command_registry.h — subcommands register themselves here (one static CommandRegistration per cmd_*.cpp),
// and main() dispatches on the first argument. Command files are compiled straight into the s3editor binary,
// so their static registrations are never dropped by the linker.
#pragma once
#include <string>
#include <vector>

namespace s3e {

using CommandFunction = int (*)(int argc, char** argv);  // argv[0] is the subcommand name

struct CommandInfo {
  std::string name;
  std::string summary;
  CommandFunction run;
};

struct CommandRegistration {
  CommandRegistration(const char* name, const char* summary, CommandFunction run);
};

// All registered subcommands, sorted by name.
std::vector<CommandInfo> command_list();
const CommandInfo* command_find(const std::string& name);

}  // namespace s3e
