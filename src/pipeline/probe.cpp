// cmd_probe.cpp — `s3editor probe <file>`: prints what VideoReader sees in a video or image as JSON (streams,
// size, rotation, frame rate, exact frame count, duration, audio), so a user can check an input before a run.
#include "pipeline/probe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "core/errors.h"
#include "core/file_util.h"
#include "media/video_reader.h"

namespace s3e {

namespace {

std::string ratio_text(int num, int den) { return std::to_string(num) + "/" + std::to_string(den); }

// True when the gaps between frames differ by more than 10% from their median.
bool frame_times_variable(const std::vector<double>& times) {
  if (times.size() < 3) return false;
  std::vector<double> gaps;
  for (size_t i = 1; i < times.size(); ++i) gaps.push_back(times[i] - times[i - 1]);
  std::vector<double> sorted = gaps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  double median = sorted[sorted.size() / 2];
  for (double g : gaps)
    if (std::fabs(g - median) > 0.1 * median) return true;
  return false;
}

nlohmann::json probe_json(const std::string& path, const MediaLimits& limits, bool decode) {
  VideoReader reader(path, limits);
  const VideoInfo& v = reader.info();
  nlohmann::json video = {{"stream_index", v.stream_index},
                          {"codec", v.codec},
                          {"width", v.width},
                          {"height", v.height},
                          {"coded_width", v.coded_width},
                          {"coded_height", v.coded_height},
                          {"rotation", v.rotation},
                          {"sample_aspect_ratio", ratio_text(v.sar_num, v.sar_den)},
                          {"fps", v.fps},
                          {"fps_rational", ratio_text(v.fps_num, v.fps_den)},
                          {"time_base", ratio_text(v.time_base_num, v.time_base_den)},
                          {"duration_s", v.duration_s},
                          {"is_image", v.is_image}};
  const std::vector<double>& times = reader.frame_times();
  video["frames"] = static_cast<int64_t>(times.size());
  video["frames_declared"] = v.frame_count_exact ? nlohmann::json(v.frame_count) : nlohmann::json(nullptr);
  video["variable_frame_rate"] = frame_times_variable(times);
  video["first_frame_s"] = times.empty() ? 0.0 : times.front();
  video["last_frame_s"] = times.empty() ? 0.0 : times.back();
  if (decode) {
    Frame frame;
    int64_t decoded = 0;
    while (reader.next(frame)) ++decoded;
    video["frames_decoded"] = decoded;
    video["decode_errors"] = reader.decode_errors();
  }
  nlohmann::json audio = nlohmann::json::array();
  for (auto& a : v.audio)
    audio.push_back({{"stream_index", a.stream_index},
                     {"codec", a.codec},
                     {"sample_rate", a.sample_rate},
                     {"channels", a.channels},
                     {"duration_s", a.duration_s}});
  return {{"path", path}, {"container", v.container}, {"video", video}, {"audio", audio}};
}

}  // namespace

void pipeline_probe_add_config(ConfigSchema& schema) {
  media_limits_add_keys(schema);
}

int pipeline_probe_run(Communicator& comm, const ProbeOptions& options) {
  const StageRun& stage = options.run;
  auto files = options.files;
  if (files.empty()) throw UsageError("s3editor probe: give the file to inspect (see s3editor probe --help)");
  nlohmann::json j = probe_json(files[0], media_limits_from_config(stage.config), options.decode);
  std::string text = j.dump(2) + "\n";
  std::cout << text << std::flush;
  const std::string& out = options.out;
  if (!out.empty()) file_write_atomic(out, text);
  return 0;
}

}  // namespace s3e
