// config.h — typed, validated configuration: a schema of known keys ("section.key") with defaults, ranges and
// help, and the resolved values. Precedence: command line (--set, --seed, ...) > config files (INI) > defaults.
// Unknown keys and out-of-range values are UsageErrors naming the key, where it came from and what is allowed.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace s3e {

enum class ConfigType { integer, real, boolean, text, choice };

struct ConfigKey {
  std::string name;           // "section.key"
  ConfigType type = ConfigType::text;
  std::string default_value;  // as text, validated like any other value
  std::string help;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // for ConfigType::choice
};

// The keys a subcommand understands. Stages add their own keys to the common ones (run.*).
class ConfigSchema {
 public:
  ConfigSchema& add_int(const std::string& name, int64_t default_value, const std::string& help,
                        double min = -1e18, double max = 1e18);
  ConfigSchema& add_real(const std::string& name, double default_value, const std::string& help,
                         double min = -std::numeric_limits<double>::infinity(),
                         double max = std::numeric_limits<double>::infinity());
  ConfigSchema& add_bool(const std::string& name, bool default_value, const std::string& help);
  ConfigSchema& add_text(const std::string& name, const std::string& default_value, const std::string& help);
  ConfigSchema& add_choice(const std::string& name, const std::string& default_value,
                           const std::vector<std::string>& choices, const std::string& help);

  const ConfigKey* find(const std::string& name) const;
  const std::vector<ConfigKey>& keys() const { return keys_; }
  // One help paragraph per key: "  section.key = default  (range)  help".
  std::string describe() const;

 private:
  ConfigSchema& add(ConfigKey key);
  std::vector<ConfigKey> keys_;
};

// Resolved values, each with where it came from ("default", "file.ini", "--set").
class Config {
 public:
  explicit Config(const ConfigSchema& schema);

  // Validates and stores a value; `source` names its origin for error messages.
  void set(const std::string& name, const std::string& value, const std::string& source);

  int64_t get_int(const std::string& name) const;
  double get_real(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::string& get_text(const std::string& name) const;  // text and choice keys
  // A list of integers "0-10" or "1,4,7" or "0-3,8" (empty text -> empty list).
  std::vector<int> get_int_list(const std::string& name) const;
  // A comma-separated text key as its items, each trimmed of blanks; empty items dropped.
  std::vector<std::string> get_text_list(const std::string& name) const;
  const std::string& source_of(const std::string& name) const;

  // The effective configuration as an INI file (sections sorted, one comment line per key with its origin).
  std::string to_ini() const;

  const ConfigSchema& schema() const { return *schema_; }

 private:
  const ConfigKey& key_of(const std::string& name) const;
  const ConfigSchema* schema_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> sources_;
};

// Builds the effective config: defaults, then each INI file in order, then "key=value" assignments.
// `other_stages_keys`: keys that other subcommands understand; a file may hold them (one INI file describes a whole
// run, every stage reads its own keys from it), so they are skipped in files. A key no subcommand knows is still a
// UsageError, and so is any unknown key given on the command line.
Config config_resolve(const ConfigSchema& schema, const std::vector<std::string>& ini_files,
                      const std::vector<std::pair<std::string, std::string>>& assignments,
                      const std::set<std::string>& other_stages_keys = {});

// Parses "section.key=value" (the --set syntax); throws UsageError on a malformed assignment.
std::pair<std::string, std::string> config_parse_assignment(const std::string& text);

// Reads "[section] key = value" from an INI text (e.g. the effective config a stage stored in its output's
// config_ini attribute); empty when absent.
std::string ini_text_value(const std::string& ini, const std::string& section, const std::string& key);

// Parses an integer list such as "0-10" or "1,4,7"; `what` names the value in errors.
std::vector<int> config_parse_int_list(const std::string& text, const std::string& what);

}  // namespace s3e
