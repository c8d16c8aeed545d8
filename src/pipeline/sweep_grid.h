// sweep_grid.h — the grid file of `s3editor sweep` (docs/cli.md, "sweep"): an INI-like file in jobs/ naming a
// chain INI to start from, the stages to run, and the axes to vary; expanded into points, each a run folder named
// by its parameters (e.g. clusters-2_rate-0.1_self_train-on_seed-1) with its own point.ini that the stages read
// after the chain INI.
//
//   [sweep]
//   base = jobs/chain_synth.ini                     # the chain INI every point starts from (optional)
//   stages = synth, train-classifier, train, edit, eval-latent
//   metrics = metrics.json                          # relative to the point folder (default: the relocated io.metrics)
//   seed_key = run.seed                             # the axis averaged over in the table (default run.seed)
//   ranks = 1                                       # ranks per stage
//   [axes]                                          # every combination, in file order, the seed axis varying fastest
//   editor.clusters = 2, 5
//   run.seed = 1, 2
//   [set]                                           # fixed overrides for every point
//   train.steps = 20
//   [args]                                          # extra command-line arguments of a stage
//   ingest = videos/list.txt
//
// Files of the chain (its io.* keys) that lie under the base's run.root are relocated into the point folder, and
// run.root becomes the point folder, so every point is a whole chain of its own (without a base, io.* paths of [set]
// under runs/ are relocated). Errors name the grid file and line.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace s3e {

// The keys the stages of a grid may read: the keys every stage has (run.*, io.*, dist.*) and each stage's own.
struct SweepSchemas {
  ConfigSchema common;
  std::map<std::string, ConfigSchema> stages;  // stage (subcommand) name -> its add_config keys
};

struct SweepAxis {
  std::string key;                  // "editor.clusters"
  std::vector<std::string> values;  // as written ("2", "0.1", "true")
  std::string short_name;           // "clusters": names the point folders
  bool boolean = false;             // values named on/off
  int line = 0;
};

struct SweepSlurm {
  std::string partition, account, time, mem;  // "" = not given to sbatch
  int cpus_per_task = 0;                      // 0: run.threads of the points ([set] run.threads, else 1)
  int max_parallel = 0;                       // --array=0-N%max_parallel; 0: no limit
};

struct SweepGrid {
  std::filesystem::path file;             // the grid file as given
  std::filesystem::path base;             // the chain INI (absolute; empty: none, [set] describes the chain)
  std::vector<std::string> stages;        // in order
  std::map<std::string, std::vector<std::string>> stage_args;  // [args]: stage -> extra arguments
  std::string metrics;                    // relative to the point folder
  std::string seed_key = "run.seed";
  int ranks = 1;
  std::filesystem::path root;             // [sweep] root: the sweep folder ("" = runs/<grid stem>)
  std::string launcher;                   // command prefix with {ranks} for stages run as subprocesses ("" default)
  std::vector<std::string> table_metrics; // columns of the terminal table ("" = the first few)
  SweepSlurm slurm;
  std::vector<SweepAxis> axes;            // file order
  std::vector<std::pair<std::string, std::string>> set;         // [set]
  std::vector<std::pair<std::string, std::string>> base_values;  // every key of the base INI, in order
  std::string base_root = "runs";         // the base's run.root (io.* paths under it are relocated)
};

struct SweepPoint {
  int index = 0;                                             // 0-based, expansion order
  std::string name;                                          // folder name
  std::vector<std::pair<std::string, std::string>> params;   // axis key -> value, in axis order
  std::string param(const std::string& key) const;           // "" if not an axis
};

// Reads and checks a grid file (and its base INI). Throws UsageError naming the file and line: unknown section or
// [sweep] key, empty axis or value, duplicate key, a key none of the grid's stages reads, a value its key refuses,
// an unknown stage, a missing base file.
SweepGrid sweep_grid_load(const std::filesystem::path& grid_file, const SweepSchemas& schemas);
// The same from text (`file_name` names it in errors; relative paths resolve from `dir`).
SweepGrid sweep_grid_parse(const std::string& text, const std::string& file_name, const std::filesystem::path& dir,
                           const SweepSchemas& schemas);

// Every combination of the axes: the first axis varies slowest, except the seed axis, which always varies fastest
// (a parameter combination's seeds are neighbours). Names are checked unique (UsageError otherwise).
std::vector<SweepPoint> sweep_grid_expand(const SweepGrid& grid);
// "clusters-2_rate-0.1_self_train-on_seed-1": short_name-value per axis in the point's order; values keep
// [A-Za-z0-9.+-], other characters become '-'.
std::string sweep_point_name(const SweepGrid& grid, const std::vector<std::pair<std::string, std::string>>& params);

// The point's overrides, read after the base INI: run.root = point folder, relocated io.* files, [set], the
// point's parameters. `point_dir` should be absolute.
std::string sweep_point_ini(const SweepGrid& grid, const SweepPoint& point, const std::filesystem::path& point_dir);
// The point's metrics file (absolute when point_dir is).
std::filesystem::path sweep_point_metrics(const SweepGrid& grid, const std::filesystem::path& point_dir);

}  // namespace s3e
