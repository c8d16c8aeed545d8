#include "store/row_split.h"

#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <numeric>

#include "core/errors.h"
#include "store/latent_store.h"
#include "store/store_schema.h"

namespace s3e {
namespace {

int64_t heldout_count(int64_t n, double share) { return std::llround(double(n) * share); }

void check_sides(const RowSplit& s, const std::string& what) {
  if (s.train.empty() || s.heldout.empty())
    throw UsageError(fmt::format("train.validation_share = {} splits {} into {} training and {} held-out rows: both "
                                 "sides need rows", s.validation_share, what, s.train.size(), s.heldout.size()));
}

}  // namespace

std::vector<int64_t> row_split_take(const std::vector<int64_t>& rows, const std::vector<int64_t>& positions) {
  std::vector<int64_t> out;
  out.reserve(positions.size());
  for (int64_t p : positions) out.push_back(rows.at(size_t(p)));
  return out;
}

RowSplit row_split_by_rows(int64_t num_rows, double validation_share) {
  RowSplit s;
  s.by = "rows";
  s.validation_share = validation_share;
  const int64_t n_train = num_rows - heldout_count(num_rows, validation_share);
  s.train.resize(std::max<int64_t>(0, n_train));
  std::iota(s.train.begin(), s.train.end(), 0);
  for (int64_t r = std::max<int64_t>(0, n_train); r < num_rows; ++r) s.heldout.push_back(r);
  check_sides(s, fmt::format("{} rows", num_rows));
  return s;
}

RowSplit row_split(const LatentStore& store, double validation_share) {
  const int64_t num_videos =
      store.has_column(k_ds_video_names) ? int64_t(store.read_strings(k_ds_video_names).size()) : 0;
  if (num_videos == 0) {
    try {
      return row_split_by_rows(store.size(), validation_share);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}: {}", store.path().string(), e.what()));
    }
  }
  RowSplit s;
  s.by = "video";
  s.validation_share = validation_share;
  std::vector<int64_t> video(store.size());
  store.read_range_i64(k_col_video_index, 0, store.size(), video.data());
  const int64_t first_heldout_video = num_videos - heldout_count(num_videos, validation_share);
  std::vector<int64_t> stills;
  for (int64_t r = 0; r < store.size(); ++r) {
    if (video[r] < 0) {
      stills.push_back(r);
      continue;
    }
    if (video[r] >= num_videos)
      throw DataError(fmt::format("{}: row {} names video {} but the store lists {} videos", store.path().string(), r,
                                  video[r], num_videos));
    (video[r] >= first_heldout_video ? s.heldout : s.train).push_back(r);
  }
  const int64_t stills_train = int64_t(stills.size()) - heldout_count(int64_t(stills.size()), validation_share);
  for (int64_t i = 0; i < int64_t(stills.size()); ++i) (i < stills_train ? s.train : s.heldout).push_back(stills[i]);
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.heldout.begin(), s.heldout.end());
  check_sides(s, store.path().string());
  return s;
}

}  // namespace s3e
