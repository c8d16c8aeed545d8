#include "pipeline/ingest_inputs.h"

#include <fmt/format.h>
#include <glob.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/errors.h"
#include "dist/sha256.h"
#include "media/video_reader.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

bool media_extension(const fs::path& p) {
  static const std::set<std::string> known = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg",
                                              ".jpg", ".jpeg", ".png", ".bmp", ".webp"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return known.count(ext) > 0;
}

bool is_pattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> glob_sorted(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
  globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> ingest_list_inputs(const std::vector<std::string>& specs) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const fs::path& p) {
    std::string abs = fs::absolute(p).lexically_normal().string();
    if (seen.insert(abs).second) out.push_back(abs);
  };
  for (const std::string& spec : specs) {
    if (is_pattern(spec)) {
      auto matches = glob_sorted(spec);
      if (matches.empty()) throw UsageError(fmt::format("ingest: no file matches '{}'", spec));
      for (auto& m : matches) add(m);
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(spec, ec)) {
      std::vector<fs::path> files;
      for (auto& e : fs::directory_iterator(spec))
        if (e.is_regular_file() && media_extension(e.path())) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      if (files.empty()) throw UsageError(fmt::format("ingest: folder {} holds no video or image files", spec));
      for (auto& f : files) add(f);
      continue;
    }
    if (!fs::exists(spec, ec)) throw UsageError(fmt::format("ingest: input {} does not exist", spec));
    const std::string ext = fs::path(spec).extension().string();
    if (ext == ".txt" || ext == ".list") {
      std::ifstream in(spec);
      if (!in) throw UsageError(fmt::format("ingest: cannot read the list {}", spec));
      const fs::path base = fs::path(spec).parent_path();
      int line_number = 0;
      for (std::string line; std::getline(in, line);) {
        ++line_number;
        const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#') continue;
        fs::path p = line.substr(b, e - b + 1);
        if (p.is_relative()) p = base / p;
        if (!fs::exists(p, ec))
          throw UsageError(fmt::format("ingest: {} line {}: {} does not exist", spec, line_number, p.string()));
        add(p);
      }
      continue;
    }
    add(spec);
  }
  if (out.empty()) throw UsageError("ingest: no inputs (give folders, list files, globs or files)");
  return out;
}

std::string ingest_input_id(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  for (char& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (stem.empty() || stem[0] == '.') stem = "input" + stem;
  if (stem.size() > 100) stem.resize(100);
  return stem + "-" + sha256_hex(path).substr(0, 8);
}

std::vector<IngestItem> ingest_plan_items(const std::vector<std::string>& inputs, const IngestPlanOptions& o) {
  std::vector<IngestItem> items;
  for (size_t i = 0; i < inputs.size(); ++i) {
    IngestItem base;
    base.input = int64_t(i);
    base.path = inputs[i];
    const std::string stem = ingest_input_id(inputs[i]);
    VideoInfo info;
    try {
      info = VideoReader(inputs[i], o.limits).info();
    } catch (const std::exception& e) {
      base.id = stem + ".r000";
      base.end_frame = -1;
      base.probe_error = e.what();
      items.push_back(base);
      continue;
    }
    base.is_image = info.is_image && info.frame_count <= 1;
    const double fps = info.fps > 0 ? info.fps : 25.0;
    int64_t first = 0, last = base.is_image ? 1 : info.frame_count;  // [first, last)
    if (!base.is_image) {
      if (o.time_begin_s > 0) first = int64_t(std::ceil(o.time_begin_s * fps - 1e-9));
      if (o.time_end_s > 0) last = std::min<int64_t>(last > 0 ? last : INT64_MAX, int64_t(std::ceil(o.time_end_s * fps - 1e-9)));
    }
    const int64_t per_range = (o.range_seconds > 0 && !base.is_image) ? std::max<int64_t>(1, int64_t(std::llround(o.range_seconds * fps))) : 0;
    const int64_t frames = last > first ? last - first : 0;
    const int ranges = (per_range > 0 && frames > per_range) ? int((frames + per_range - 1) / per_range) : 1;
    for (int r = 0; r < ranges; ++r) {
      IngestItem it = base;
      it.id = fmt::format("{}.r{:03d}", stem, r);
      it.range = r;
      it.ranges = ranges;
      it.begin_frame = first + (ranges > 1 ? r * per_range : 0);
      it.end_frame = ranges > 1 ? std::min(last, it.begin_frame + per_range) : last;
      // The last range of a video whose frame count is only estimated reads to the end of the stream.
      if (r == ranges - 1 && !info.frame_count_exact && o.time_end_s <= 0) it.end_frame = -1;
      it.context_frames = base.is_image ? 0 : o.context_frames;
      it.cost = double(std::max<int64_t>(1, (it.end_frame < 0 ? last : it.end_frame) - it.begin_frame));
      items.push_back(it);
    }
  }
  return items;
}

}  // namespace s3e
