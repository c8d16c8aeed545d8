// check_edited_video — judges what `edit --videos` wrote against its source, decoding both with the product's own
// VideoReader (so a difference is the edit's, not a second decoder's):
//   check_edited_video exact SOURCE EDITED ITEM_H5
//       EDITED is lossless (edit.codec = ffv1): every pixel outside the mask rectangles of its frame's edited faces
//       (side/mask_rect of the item file) must equal the decoded source bit for bit; frames with no edited face must
//       be identical. Also checks frame count and timestamps. Exit 1 on any difference.
//   check_edited_video psnr REFERENCE EDITED ITEM_H5 MIN_DB
//       PSNR over the pixels outside the mask rectangles, EDITED against REFERENCE (the source re-encoded with the
//       same codec settings), must be >= MIN_DB.
// Prints one line of numbers either way.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "media/video_reader.h"
#include "store/latent_store.h"

using namespace s3e;

struct Rect {
  int64_t x0, y0, w, h;
  bool contains(int x, int y) const { return x >= x0 && y >= y0 && x < x0 + w && y < y0 + h; }
};

int main(int argc, char** argv) {
  if (argc < 5 || (std::string(argv[1]) == "psnr" && argc < 6)) {
    std::fprintf(stderr, "usage: check_edited_video exact SOURCE EDITED ITEM_H5 | psnr REFERENCE EDITED ITEM_H5 MIN_DB\n");
    return 2;
  }
  const std::string mode = argv[1];
  try {
    LatentStore item(argv[4]);
    std::map<int64_t, std::vector<Rect>> rects;
    const int64_t n = item.size();
    if (n > 0) {
      std::vector<int64_t> frame(n), rect(n * 4);
      item.read_range_i64("frame_index", 0, n, frame.data());
      item.read_range_i64("side/mask_rect", 0, n, rect.data());
      for (int64_t i = 0; i < n; ++i) rects[frame[i]].push_back({rect[4 * i], rect[4 * i + 1], rect[4 * i + 2], rect[4 * i + 3]});
    }
    VideoReader a(argv[2]), b(argv[3]);
    Frame fa, fb;
    int64_t frames = 0, differing = 0, differing_frames = 0, pts_mismatch = 0, outside = 0;
    double sq = 0;
    while (true) {
      const bool ga = a.next(fa), gb = b.next(fb);
      if (ga != gb) {
        std::printf("frame counts differ: %s ends first after %lld frames\n", ga ? argv[3] : argv[2], (long long)frames);
        return 1;
      }
      if (!ga) break;
      ++frames;
      if (std::abs(fa.pts - fb.pts) > 1e-6) ++pts_mismatch;
      if (fa.width != fb.width || fa.height != fb.height) {
        std::printf("frame %lld: %dx%d vs %dx%d\n", (long long)fa.index, fa.width, fa.height, fb.width, fb.height);
        return 1;
      }
      const auto it = rects.find(fa.index);
      int64_t diff_here = 0;
      for (int y = 0; y < fa.height; ++y)
        for (int x = 0; x < fa.width; ++x) {
          bool masked = false;
          if (it != rects.end())
            for (auto& r : it->second) masked |= r.contains(x, y);
          if (masked) continue;
          ++outside;
          const uint8_t *p = fa.pixel(x, y), *q = fb.pixel(x, y);
          for (int c = 0; c < 3; ++c) {
            const int d = int(p[c]) - int(q[c]);
            sq += double(d) * d;
            diff_here += d != 0;
          }
        }
      differing += diff_here;
      differing_frames += diff_here > 0;
    }
    const double mse = sq / std::max<int64_t>(1, outside * 3);
    const double psnr = mse > 0 ? 10 * std::log10(255.0 * 255.0 / mse) : INFINITY;
    std::printf("frames %lld, edited frames %zu, pixels outside masks %lld, differing values %lld in %lld frames, "
                "timestamp mismatches %lld, PSNR outside masks %.2f dB\n",
                (long long)frames, rects.size(), (long long)outside, (long long)differing, (long long)differing_frames,
                (long long)pts_mismatch, psnr);
    if (pts_mismatch > 0) return 1;
    if (mode == "exact") return differing == 0 ? 0 : 1;
    return psnr >= std::atof(argv[5]) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "check_edited_video: %s\n", e.what());
    return 2;
  }
}
