#include "pipeline/sweep_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/file_util.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct IniLine {
  int line = 0;
  std::string section, key, value;
};

// INI as boost::program_options reads config files: '#' starts a comment anywhere, "[section]", "key = value".
// Returns the assignments with their line; `on_section` sees each section header (to refuse unknown ones).
template <class OnSection>
std::vector<IniLine> ini_parse(const std::string& text, const std::string& file, OnSection on_section) {
  std::vector<IniLine> out;
  std::istringstream in(text);
  std::string raw, section;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    std::string line = raw;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty() || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3)
        throw UsageError(fmt::format("{}:{}: '{}' is not a [section] header", file, number, line));
      section = trim(line.substr(1, line.size() - 2));
      on_section(section, number);
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(fmt::format("{}:{}: '{}' is not of the form key = value", file, number, line));
    if (section.empty())
      throw UsageError(fmt::format("{}:{}: '{}' comes before any [section]", file, number, line));
    out.push_back({number, section, trim(line.substr(0, eq)), trim(line.substr(eq + 1))});
  }
  return out;
}

// "a, b, \"c,d\"" -> a | b | c,d. Double quotes keep commas inside an item; an empty item is an error.
std::vector<std::string> split_items(const std::string& text, const std::string& where) {
  std::vector<std::string> raw(1);
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) raw.emplace_back();
    else raw.back() += c;
  }
  if (quoted) throw UsageError(fmt::format("{}: unbalanced double quote in '{}'", where, text));
  std::vector<std::string> items;
  for (auto& r : raw) {
    std::string item = trim(r);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
    else if (item.empty()) throw UsageError(fmt::format("{}: an empty value in '{}'", where, text));
    items.push_back(item);
  }
  return items;
}

// Whitespace-separated arguments; double quotes group.
std::vector<std::string> split_args(const std::string& text, const std::string& where) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quoted) throw UsageError(fmt::format("{}: unbalanced double quote in '{}'", where, text));
  if (any) out.push_back(cur);
  return out;
}

bool parse_int_text(const std::string& text, int& out) {
  try {
    size_t used = 0;
    long v = std::stol(text, &used);
    if (used != text.size()) return false;
    out = static_cast<int>(v);
    return static_cast<long>(out) == v;
  } catch (...) {
    return false;
  }
}

std::string sanitize_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-';
    out += keep ? c : '-';
  }
  return out.empty() ? std::string("empty") : out;
}

// A path as written in an INI, absolute and lexically normal (relative to the current folder, where stages run).
fs::path absolute_normal(const std::string& p) { return fs::absolute(fs::path(p)).lexically_normal(); }

// `value` under `root` -> the same place under `point_dir`; otherwise "" (the file is shared by every point).
std::string relocate(const std::string& value, const fs::path& root, const fs::path& point_dir) {
  if (value.empty()) return "";
  fs::path v = absolute_normal(value), r = absolute_normal(root.string());
  auto rel = v.lexically_relative(r);
  if (rel.empty() || *rel.begin() == "..") return "";
  if (rel == ".") return point_dir.string();
  return (point_dir / rel).lexically_normal().string();
}

}  // namespace

std::string SweepPoint::param(const std::string& key) const {
  for (auto& [k, v] : params)
    if (k == key) return v;
  return "";
}

SweepGrid sweep_grid_load(const fs::path& grid_file, const SweepSchemas& schemas) {
  std::ifstream in(grid_file);
  if (!in) throw UsageError(fmt::format("sweep grid file {} cannot be read", grid_file.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  fs::path dir = grid_file.parent_path();
  if (dir.empty()) dir = ".";
  SweepGrid grid = sweep_grid_parse(ss.str(), grid_file.string(), dir, schemas);
  grid.file = grid_file;
  return grid;
}

SweepGrid sweep_grid_parse(const std::string& text, const std::string& file, const fs::path& dir,
                           const SweepSchemas& schemas) {
  static const std::set<std::string> k_sections = {"sweep", "axes", "set", "args"};
  static const std::vector<std::string> k_sweep_keys = {
      "base",         "stages",          "metrics",         "seed_key",   "ranks",         "root",
      "launcher",     "table_metrics",   "slurm_partition", "slurm_account", "slurm_time", "slurm_mem",
      "slurm_cpus_per_task", "slurm_max_parallel"};
  auto lines = ini_parse(text, file, [&](const std::string& section, int number) {
    if (!k_sections.count(section))
      throw UsageError(fmt::format("{}:{}: unknown section [{}]; a grid file has [sweep], [axes], [set] and [args]",
                                   file, number, section));
  });
  auto where = [&](int line) { return fmt::format("{}:{}", file, line); };

  SweepGrid grid;
  grid.file = file;
  std::map<std::string, int> seen;  // "section.key" -> line, for duplicates (axes and set share one namespace)
  std::string base_text;
  int base_line = 0, stages_line = 0, metrics_line = 0;
  std::vector<IniLine> axis_lines, set_lines, args_lines;
  for (auto& l : lines) {
    const std::string id = (l.section == "axes" || l.section == "set") ? "key " + l.key : l.section + "." + l.key;
    if (seen.count(id))
      throw UsageError(fmt::format("{}: duplicate key {} (first on line {}{})", where(l.line), l.key, seen[id],
                                   l.section == "axes" || l.section == "set" ? "; [axes] and [set] share keys" : ""));
    seen[id] = l.line;
    if (l.section == "sweep") {
      if (std::find(k_sweep_keys.begin(), k_sweep_keys.end(), l.key) == k_sweep_keys.end())
        throw UsageError(fmt::format("{}: unknown [sweep] key '{}'; known: {}", where(l.line), l.key,
                                     fmt::join(k_sweep_keys, ", ")));
      auto need_int = [&](int min) {
        int v = 0;
        if (!parse_int_text(l.value, v) || v < min)
          throw UsageError(fmt::format("{}: {} = '{}' is not an integer >= {}", where(l.line), l.key, l.value, min));
        return v;
      };
      if (l.key == "base") base_text = l.value, base_line = l.line;
      else if (l.key == "stages") {
        stages_line = l.line;
        grid.stages = split_items(l.value, where(l.line));
      } else if (l.key == "metrics") grid.metrics = l.value, metrics_line = l.line;
      else if (l.key == "seed_key") grid.seed_key = l.value;
      else if (l.key == "ranks") grid.ranks = need_int(1);
      else if (l.key == "root") grid.root = l.value;
      else if (l.key == "launcher") grid.launcher = l.value;
      else if (l.key == "table_metrics") grid.table_metrics = split_items(l.value, where(l.line));
      else if (l.key == "slurm_partition") grid.slurm.partition = l.value;
      else if (l.key == "slurm_account") grid.slurm.account = l.value;
      else if (l.key == "slurm_time") grid.slurm.time = l.value;
      else if (l.key == "slurm_mem") grid.slurm.mem = l.value;
      else if (l.key == "slurm_cpus_per_task") grid.slurm.cpus_per_task = need_int(1);
      else if (l.key == "slurm_max_parallel") grid.slurm.max_parallel = need_int(1);
    } else if (l.section == "axes") {
      axis_lines.push_back(l);
    } else if (l.section == "set") {
      set_lines.push_back(l);
    } else {
      args_lines.push_back(l);
    }
  }

  // Stages.
  if (grid.stages.empty())
    throw UsageError(fmt::format("{}: [sweep] stages = ... is missing: name the subcommands every point runs, in "
                                 "order (e.g. synth, train-classifier, train, edit, eval-latent)", file));
  std::set<std::string> stage_set;
  for (auto& s : grid.stages) {
    if (!schemas.stages.count(s)) {
      std::vector<std::string> known;
      for (auto& [name, _] : schemas.stages) known.push_back(name);
      throw UsageError(fmt::format("{}: stage '{}' is not a subcommand of this s3editor (known: {})",
                                   where(stages_line), s, fmt::join(known, ", ")));
    }
    if (!stage_set.insert(s).second)
      throw UsageError(fmt::format("{}: stage '{}' is listed twice (each stage has one run folder per point)",
                                   where(stages_line), s));
  }
  for (auto& l : args_lines) {
    if (!stage_set.count(l.key))
      throw UsageError(fmt::format("{}: [args] names stage '{}', which is not in stages = {}", where(l.line), l.key,
                                   fmt::join(grid.stages, ", ")));
    grid.stage_args[l.key] = split_args(l.value, where(l.line));
  }

  // A key is valid when some stage of the grid reads it; its value must be one that key accepts.
  auto schema_of = [&](const std::string& key) -> const ConfigSchema* {
    if (schemas.common.find(key)) return &schemas.common;
    for (auto& s : grid.stages) {
      auto& sc = schemas.stages.at(s);
      if (sc.find(key)) return &sc;
    }
    return nullptr;
  };
  auto check_key = [&](const IniLine& l) -> const ConfigSchema* {
    if (l.key.find('.') == std::string::npos)
      throw UsageError(fmt::format("{}: '{}' is not a config key of the form section.key", where(l.line), l.key));
    const ConfigSchema* schema = schema_of(l.key);
    if (!schema)
      throw UsageError(fmt::format("{}: config key '{}' is read by none of the grid's stages ({})", where(l.line),
                                   l.key, fmt::join(grid.stages, ", ")));
    if (l.key == "run.root")
      throw UsageError(fmt::format("{}: run.root is set by the sweep (each point's folder); use [sweep] root for the "
                                   "sweep folder", where(l.line)));
    return schema;
  };
  for (auto& l : set_lines) {
    const ConfigSchema* schema = check_key(l);
    Config probe(*schema);
    probe.set(l.key, l.value, where(l.line));
    grid.set.emplace_back(l.key, l.value);
  }
  for (auto& l : axis_lines) {
    const ConfigSchema* schema = check_key(l);
    if (trim(l.value).empty())
      throw UsageError(fmt::format("{}: axis {} has no values (give a comma-separated list)", where(l.line), l.key));
    SweepAxis axis;
    axis.key = l.key;
    axis.line = l.line;
    axis.boolean = schema->find(l.key)->type == ConfigType::boolean;
    std::set<std::string> distinct;
    for (auto& v : split_items(l.value, where(l.line))) {
      Config probe(*schema);
      probe.set(l.key, v, where(l.line));
      if (!distinct.insert(axis.boolean ? probe.get_text(l.key) : v).second)
        throw UsageError(fmt::format("{}: axis {} lists the value '{}' twice", where(l.line), l.key, v));
      axis.values.push_back(v);
    }
    grid.axes.push_back(axis);
  }
  if (grid.axes.empty()) throw UsageError(fmt::format("{}: [axes] is empty: a sweep needs at least one axis", file));

  // Short names for folders: the key's last part ("clusters"), its section when the last part says nothing
  // ("self_train" for self_train.enabled); where two axes would share one, section-key for both.
  auto short_of = [](const std::string& key) {
    auto dot = key.rfind('.');
    std::string last = key.substr(dot + 1), section = key.substr(0, key.find('.'));
    if (last == "enabled" || last == "enable") return section;
    return last;
  };
  std::map<std::string, int> count;
  for (auto& a : grid.axes) count[short_of(a.key)]++;
  for (auto& a : grid.axes) {
    a.short_name = short_of(a.key);
    if (count[a.short_name] > 1) {
      a.short_name = a.key;
      std::replace(a.short_name.begin(), a.short_name.end(), '.', '-');
    }
  }

  // Base chain INI: relative to the current folder, else to the grid file's folder or its parent (a grid in jobs/
  // naming jobs/chain_synth.ini works from anywhere). Without one, [set] alone describes the chain.
  if (!base_text.empty()) {
    std::vector<fs::path> tries;
    if (fs::path(base_text).is_absolute()) tries = {base_text};
    else tries = {fs::path(base_text), dir / base_text, dir.parent_path() / base_text};
    for (auto& t : tries)
      if (!t.empty() && fs::is_regular_file(t)) {
        grid.base = fs::absolute(t).lexically_normal();
        break;
      }
    if (grid.base.empty()) {
      std::vector<std::string> names;
      for (auto& t : tries) names.push_back(t.string());
      throw UsageError(fmt::format("{}: base = {}: no such file (looked at {})", where(base_line), base_text,
                                   fmt::join(names, ", ")));
    }
    const std::string base_name = grid.base.string();
    for (auto& l : ini_parse(file_read_all(grid.base), base_name, [](const std::string&, int) {})) {
      const std::string key = l.section + "." + l.key;
      grid.base_values.emplace_back(key, l.value);
      if (key == "run.root") grid.base_root = l.value;
    }
  }

  // Seeds: an axis named by seed_key is averaged over; without one every combination has one seed.
  if (grid.seed_key.find('.') == std::string::npos)
    throw UsageError(fmt::format("{}: seed_key = '{}' is not a config key", file, grid.seed_key));

  // The metrics file of a point: given, or the base's io.metrics relocated into the point.
  if (grid.metrics.empty()) {
    std::string io_metrics;
    for (auto& [k, v] : grid.base_values)
      if (k == "io.metrics") io_metrics = v;
    for (auto& [k, v] : grid.set)
      if (k == "io.metrics") io_metrics = v;
    std::string rel = relocate(io_metrics, grid.base_root, "/POINT");
    if (rel.empty())
      throw UsageError(fmt::format("{}: give [sweep] metrics = <file in the point folder> (the base's io.metrics "
                                   "'{}' is not under its run.root {})", file, io_metrics, grid.base_root));
    grid.metrics = fs::path(rel).lexically_relative("/POINT").string();
  } else if (fs::path(grid.metrics).is_absolute()) {
    throw UsageError(fmt::format("{}: metrics = {} must be relative to the point folder", where(metrics_line),
                                 grid.metrics));
  }
  return grid;
}

std::string sweep_point_name(const SweepGrid& grid, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string name;
  for (auto& [key, value] : params) {
    const SweepAxis* axis = nullptr;
    for (auto& a : grid.axes)
      if (a.key == key) axis = &a;
    std::string shown = value;
    if (axis && axis->boolean) {
      std::string v = lower(value);
      shown = (v == "true" || v == "yes" || v == "on" || v == "1") ? "on" : "off";
    }
    name += (name.empty() ? "" : "_") + (axis ? axis->short_name : key) + "-" + sanitize_value(shown);
  }
  return name;
}

std::vector<SweepPoint> sweep_grid_expand(const SweepGrid& grid) {
  std::vector<const SweepAxis*> order;
  const SweepAxis* seed = nullptr;
  for (auto& a : grid.axes) {
    if (a.key == grid.seed_key) seed = &a;
    else order.push_back(&a);
  }
  if (seed) order.push_back(seed);
  std::vector<SweepPoint> points;
  std::vector<size_t> idx(order.size(), 0);
  std::map<std::string, int> names;
  while (true) {
    SweepPoint p;
    p.index = static_cast<int>(points.size());
    for (size_t i = 0; i < order.size(); ++i) p.params.emplace_back(order[i]->key, order[i]->values[idx[i]]);
    p.name = sweep_point_name(grid, p.params);
    if (names.count(p.name))
      throw UsageError(fmt::format("{}: points {} and {} would share the folder name {} (values that differ only in "
                                   "characters other than letters, digits, '.', '+' and '-')",
                                   grid.file.string(), names[p.name] + 1, p.index + 1, p.name));
    names[p.name] = p.index;
    points.push_back(std::move(p));
    // Odometer: the last axis (the seed) turns fastest.
    size_t i = order.size();
    while (i > 0) {
      --i;
      if (++idx[i] < order[i]->values.size()) break;
      idx[i] = 0;
      if (i == 0) return points;
    }
    if (order.empty()) return points;
  }
}

std::string sweep_point_ini(const SweepGrid& grid, const SweepPoint& point, const fs::path& point_dir) {
  // Later entries win; sections keep their first appearance's order.
  std::vector<std::pair<std::string, std::string>> entries;
  entries.emplace_back("run.root", point_dir.string());
  std::map<std::string, std::string> io;
  std::vector<std::string> io_order;
  auto add_io = [&](const std::string& k, const std::string& v) {
    if (!io.count(k)) io_order.push_back(k);
    io[k] = v;
  };
  for (auto& [k, v] : grid.base_values)
    if (k.rfind("io.", 0) == 0) add_io(k, v);
  for (auto& [k, v] : grid.set)
    if (k.rfind("io.", 0) == 0) add_io(k, v);
  for (auto& k : io_order) {
    std::string moved = relocate(io[k], grid.base_root, point_dir);
    entries.emplace_back(k, moved.empty() ? io[k] : moved);
  }
  for (auto& [k, v] : grid.set)
    if (k.rfind("io.", 0) != 0) entries.emplace_back(k, v);
  for (auto& [k, v] : point.params) entries.emplace_back(k, v);

  std::vector<std::string> sections;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_section;
  for (auto& [k, v] : entries) {
    auto dot = k.find('.');
    std::string section = k.substr(0, dot), key = k.substr(dot + 1);
    auto& list = by_section[section];
    if (list.empty()) sections.push_back(section);
    auto it = std::find_if(list.begin(), list.end(), [&](auto& e) { return e.first == key; });
    if (it != list.end()) it->second = v;
    else list.emplace_back(key, v);
  }
  // No grid path here: the file is compared on a rerun, and the same grid may be named by another relative path.
  std::string out = fmt::format("# s3editor sweep: the settings of point {}, read after {}\n", point.name,
                                grid.base.empty() ? std::string("no base INI") : grid.base.string());
  for (auto& s : sections) {
    out += "[" + s + "]\n";
    for (auto& [k, v] : by_section[s]) out += k + " = " + v + "\n";
  }
  return out;
}

fs::path sweep_point_metrics(const SweepGrid& grid, const fs::path& point_dir) {
  return (point_dir / grid.metrics).lexically_normal();
}

}  // namespace s3e
