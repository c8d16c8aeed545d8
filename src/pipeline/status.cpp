#include "pipeline/status.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.h"
#include "core/file_util.h"
#include "core/run_lock.h"
#include "store/item_ledger.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

json pipeline_status_read(const fs::path& run_dir) {
  if (!fs::is_directory(run_dir)) throw UsageError(fmt::format("{}: not a run folder (no such directory)", run_dir.string()));
  json out = {{"run_dir", run_dir.string()}, {"stages", json::array()}, {"items", json::object()},
              {"checkpoints", json::object()}, {"lock", nullptr}};
  std::vector<std::string> stages;
  for (auto& e : fs::directory_iterator(run_dir)) {
    std::string name = e.path().filename().string();
    if (ends_with(name, ".config.ini")) stages.push_back(name.substr(0, name.size() - 11));
  }
  std::sort(stages.begin(), stages.end());
  out["stages"] = stages;

  ItemLedger ledger(run_dir);
  for (auto& stage : stages) {
    fs::path plan_path = run_dir / (stage + ".items.json");
    if (!fs::exists(plan_path)) continue;
    json plan;
    try {
      plan = json::parse(file_read_all(plan_path));
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: not a valid item plan: {}", plan_path.string(), e.what()));
    }
    int64_t done = 0, failed = 0, pending = 0;
    for (auto& item : plan.at("items")) {
      switch (ledger.status(item.at("id").get<std::string>())) {
        case ItemStatus::done: ++done; break;
        case ItemStatus::failed: ++failed; break;
        case ItemStatus::pending: ++pending; break;
      }
    }
    out["items"][stage] = {{"total", plan["items"].size()}, {"done", done}, {"failed", failed}, {"pending", pending}};
  }
  fs::path checkpoints = run_dir / "checkpoints";
  if (fs::is_directory(checkpoints))
    for (auto& e : fs::directory_iterator(checkpoints)) {
      fs::path latest = e.path() / "latest";
      if (!fs::exists(latest)) continue;
      std::string step = file_read_all(latest);
      step.erase(std::remove(step.begin(), step.end(), '\n'), step.end());
      out["checkpoints"][e.path().filename().string()] = step;
    }
  if (auto holder = run_lock_holder(run_dir))
    out["lock"] = {{"host", holder->host}, {"pid", holder->pid}, {"stage", holder->stage}, {"started", holder->started}};
  if (fs::exists(run_dir / "failed.csv")) out["failed_csv"] = (run_dir / "failed.csv").string();
  return out;
}

std::string pipeline_status_text(const json& s) {
  std::string text = fmt::format("run folder {}\n", s["run_dir"].get<std::string>());
  std::string stages;
  for (auto& st : s["stages"]) stages += (stages.empty() ? "" : ", ") + st.get<std::string>();
  text += fmt::format("  stages run: {}\n", stages.empty() ? "none" : stages);
  for (auto& [stage, c] : s["items"].items())
    text += fmt::format("  {} items: {} done, {} failed, {} pending of {}\n", stage, c["done"].get<int64_t>(),
                        c["failed"].get<int64_t>(), c["pending"].get<int64_t>(), c["total"].get<int64_t>());
  for (auto& [name, step] : s["checkpoints"].items())
    text += fmt::format("  last checkpoint of {}: {}\n", name, step.get<std::string>());
  if (s["lock"].is_null()) text += "  lock: free (no run is using this folder)\n";
  else
    text += fmt::format("  lock: held by host {}, pid {} (stage {}, since {})\n", s["lock"]["host"].get<std::string>(),
                        s["lock"]["pid"].get<long>(), s["lock"]["stage"].get<std::string>(),
                        s["lock"]["started"].get<std::string>());
  if (s.contains("failed_csv")) text += fmt::format("  failed items listed in {}\n", s["failed_csv"].get<std::string>());
  return text;
}

}  // namespace s3e
