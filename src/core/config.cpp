#include "core/config.h"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/errors.h"

namespace po = boost::program_options;

namespace s3e {

namespace {

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string describe_range(const ConfigKey& key) {
  switch (key.type) {
    case ConfigType::integer:
    case ConfigType::real: {
      bool has_min = !std::isinf(key.min) && key.min > -1e18;
      bool has_max = !std::isinf(key.max) && key.max < 1e18;
      std::string kind = key.type == ConfigType::integer ? "an integer" : "a number";
      if (has_min && has_max) return fmt::format("{} in [{}, {}]", kind, format_number(key.min), format_number(key.max));
      if (has_min) return fmt::format("{} >= {}", kind, format_number(key.min));
      if (has_max) return fmt::format("{} <= {}", kind, format_number(key.max));
      return kind;
    }
    case ConfigType::boolean: return "true or false";
    case ConfigType::choice: {
      std::string s = "one of ";
      for (size_t i = 0; i < key.choices.size(); ++i) s += (i ? ", " : "") + key.choices[i];
      return s;
    }
    case ConfigType::text: return "text";
  }
  return "";
}

bool parse_int(const std::string& text, int64_t& out) {
  auto begin = text.data(), end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool parse_real(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return out = true, true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return out = false, true;
  return false;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

ConfigSchema& ConfigSchema::add(ConfigKey key) {
  if (find(key.name)) throw std::logic_error("config key declared twice: " + key.name);
  if (key.name.find('.') == std::string::npos) throw std::logic_error("config key needs a section: " + key.name);
  keys_.push_back(std::move(key));
  return *this;
}

ConfigSchema& ConfigSchema::add_int(const std::string& name, int64_t d, const std::string& help, double min, double max) {
  return add({name, ConfigType::integer, std::to_string(d), help, min, max, {}});
}
ConfigSchema& ConfigSchema::add_real(const std::string& name, double d, const std::string& help, double min, double max) {
  return add({name, ConfigType::real, fmt::format("{}", d), help, min, max, {}});
}
ConfigSchema& ConfigSchema::add_bool(const std::string& name, bool d, const std::string& help) {
  return add({name, ConfigType::boolean, d ? "true" : "false", help, 0, 0, {}});
}
ConfigSchema& ConfigSchema::add_text(const std::string& name, const std::string& d, const std::string& help) {
  return add({name, ConfigType::text, d, help, 0, 0, {}});
}
ConfigSchema& ConfigSchema::add_choice(const std::string& name, const std::string& d,
                                       const std::vector<std::string>& choices, const std::string& help) {
  return add({name, ConfigType::choice, d, help, 0, 0, choices});
}

const ConfigKey* ConfigSchema::find(const std::string& name) const {
  for (auto& k : keys_)
    if (k.name == name) return &k;
  return nullptr;
}

std::string ConfigSchema::describe() const {
  std::string out;
  for (auto& k : keys_)
    out += fmt::format("  {} = {}\n      {} ({})\n", k.name, k.default_value, k.help, describe_range(k));
  return out;
}

Config::Config(const ConfigSchema& schema) : schema_(&schema) {
  for (auto& k : schema.keys()) set(k.name, k.default_value, "default");
}

const ConfigKey& Config::key_of(const std::string& name) const {
  const ConfigKey* key = schema_->find(name);
  if (!key) throw std::logic_error("config key not in schema: " + name);
  return *key;
}

void Config::set(const std::string& name, const std::string& raw_value, const std::string& source) {
  const ConfigKey* key = schema_->find(name);
  if (!key) {
    // Name the known keys of the same section so a typo is easy to fix.
    std::string section = name.substr(0, name.find('.'));
    std::string known;
    for (auto& k : schema_->keys())
      if (k.name.rfind(section + ".", 0) == 0) known += (known.empty() ? "" : ", ") + k.name;
    throw UsageError(fmt::format("unknown config key '{}' (from {}){}", name, source,
                                 known.empty() ? std::string("; see --help for the keys of this subcommand")
                                               : "; keys of [" + section + "] are: " + known));
  }
  std::string value = trim(raw_value);
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format("config key {} = '{}' (from {}) {}: allowed is {}", name, value, source, why,
                                  describe_range(*key)));
  };
  switch (key->type) {
    case ConfigType::integer: {
      int64_t v;
      if (!parse_int(value, v)) throw bad("is not an integer");
      if (v < key->min || v > key->max) throw bad("is out of range");
      break;
    }
    case ConfigType::real: {
      double v;
      if (!parse_real(value, v)) throw bad("is not a finite number");
      if (v < key->min || v > key->max) throw bad("is out of range");
      break;
    }
    case ConfigType::boolean: {
      bool v;
      if (!parse_bool(value, v)) throw bad("is not a boolean");
      value = v ? "true" : "false";
      break;
    }
    case ConfigType::choice:
      if (std::find(key->choices.begin(), key->choices.end(), value) == key->choices.end())
        throw bad("is not a valid choice");
      break;
    case ConfigType::text: break;
  }
  values_[name] = value;
  sources_[name] = source;
}

int64_t Config::get_int(const std::string& name) const {
  if (key_of(name).type != ConfigType::integer) throw std::logic_error("not an integer key: " + name);
  int64_t v = 0;
  parse_int(values_.at(name), v);
  return v;
}
double Config::get_real(const std::string& name) const {
  auto t = key_of(name).type;
  if (t != ConfigType::real && t != ConfigType::integer) throw std::logic_error("not a numeric key: " + name);
  double v = 0;
  parse_real(values_.at(name), v);
  return v;
}
bool Config::get_bool(const std::string& name) const {
  if (key_of(name).type != ConfigType::boolean) throw std::logic_error("not a boolean key: " + name);
  return values_.at(name) == "true";
}
const std::string& Config::get_text(const std::string& name) const {
  key_of(name);
  return values_.at(name);
}
std::vector<std::string> Config::get_text_list(const std::string& name) const {
  std::vector<std::string> out;
  std::stringstream in(get_text(name));
  for (std::string part; std::getline(in, part, ',');) {
    const auto b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
  }
  return out;
}

std::vector<int> Config::get_int_list(const std::string& name) const {
  return config_parse_int_list(get_text(name), "config key " + name + " (from " + source_of(name) + ")");
}
const std::string& Config::source_of(const std::string& name) const {
  key_of(name);
  return sources_.at(name);
}

std::string Config::to_ini() const {
  std::map<std::string, std::vector<const ConfigKey*>> by_section;
  for (auto& k : schema_->keys()) by_section[k.name.substr(0, k.name.find('.'))].push_back(&k);
  std::string out = "# effective s3editor configuration (defaults < config files < command line)\n";
  for (auto& [section, keys] : by_section) {
    out += "\n[" + section + "]\n";
    std::vector<const ConfigKey*> sorted = keys;
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (auto* k : sorted) {
      out += fmt::format("# {} ({}; from {})\n", k->help, describe_range(*k), sources_.at(k->name));
      out += fmt::format("{} = {}\n", k->name.substr(section.size() + 1), values_.at(k->name));
    }
  }
  return out;
}

Config config_resolve(const ConfigSchema& schema, const std::vector<std::string>& ini_files,
                      const std::vector<std::pair<std::string, std::string>>& assignments,
                      const std::set<std::string>& other_stages_keys) {
  Config config(schema);
  for (auto& file : ini_files) {
    std::ifstream in(file);
    if (!in) throw UsageError(fmt::format("config file {} cannot be read", file));
    po::parsed_options parsed(nullptr);
    try {
      po::options_description none;
      parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
    } catch (const po::error& e) {
      throw UsageError(fmt::format("config file {} is not a valid INI file: {}", file, e.what()));
    }
    for (auto& opt : parsed.options) {
      if (opt.value.size() != 1)
        throw UsageError(fmt::format("config file {}: key {} needs exactly one value", file, opt.string_key));
      if (!schema.find(opt.string_key) && other_stages_keys.count(opt.string_key)) continue;  // another stage's key
      config.set(opt.string_key, opt.value[0], file);
    }
  }
  for (auto& [name, value] : assignments) config.set(name, value, "command line");
  return config;
}

std::pair<std::string, std::string> config_parse_assignment(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError(fmt::format("--set '{}' is not of the form section.key=value", text));
  return {trim(text.substr(0, eq)), trim(text.substr(eq + 1))};
}

std::vector<int> config_parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    part = trim(part);
    if (part.empty()) continue;
    auto dash = part.find('-', 1);
    int64_t a, b;
    if (dash == std::string::npos) {
      if (!parse_int(part, a)) throw UsageError(fmt::format("{}: '{}' is not an integer list like 0-10 or 1,4,7", what, text));
      b = a;
    } else if (!parse_int(trim(part.substr(0, dash)), a) || !parse_int(trim(part.substr(dash + 1)), b) || b < a) {
      throw UsageError(fmt::format("{}: '{}' is not an integer list like 0-10 or 1,4,7", what, text));
    }
    for (int64_t v = a; v <= b; ++v) out.push_back(static_cast<int>(v));
  }
  return out;
}

std::string ini_text_value(const std::string& ini, const std::string& section, const std::string& key) {
  std::istringstream in(ini);
  std::string line, current;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = trim(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (current == section && eq != std::string::npos && trim(line.substr(0, eq)) == key) return trim(line.substr(eq + 1));
  }
  return {};
}

}  // namespace s3e
