// face_smooth.h — temporal smoothing of per-frame face geometry (landmarks, crop quads) with a Gaussian over
// time, and the jitter measure used to report its effect. Series are smoothed within segments only (a track's
// contiguous frames between shot cuts), never across a gap.
#pragma once
#include <vector>

#include "face/face_align.h"
#include "face/face_types.h"

namespace s3e {

// Smooths each column of `series` (rows = consecutive frames) with a Gaussian of `sigma` frames, truncated at
// 3 sigma and renormalised at the ends (so a constant series stays constant). sigma <= 0: unchanged.
void smooth_gaussian(std::vector<std::vector<double>>& series, double sigma);

std::vector<FaceLandmarks> smooth_landmarks(const std::vector<FaceLandmarks>& frames, double sigma);
std::vector<FaceQuad> smooth_quads(const std::vector<FaceQuad>& frames, double sigma);

// Landmark jitter of a contiguous sequence: mean over interior frames and points of the distance between a point
// and the midpoint of its neighbours in time (|x_t - (x_{t-1} + x_{t+1}) / 2|), in pixels. 0 for < 3 frames.
double landmark_jitter(const std::vector<FaceLandmarks>& frames);

}  // namespace s3e
