// face_detector_size.h — which TinyFaceDetector input sides to run on a frame. The detector sees the frame shrunk
// (or grown) to S x S, so a face of h frame pixels is h * S / max(W, H) pixels at its input; below a measured size
// it is no longer found, and far above its training range (a 250 px face grown to 300+) it is missed too. So `auto`
// runs the historical 512 (large faces; the size of every face-api parity number and talking-head measurement)
// and, when 512 cannot find faces of the minimum height, a second pass at the smallest multiple of 32 that can
// (small faces), never above a cap (cost grows with S^2).
#pragma once
#include <vector>

namespace s3e {

// Face height (detector box) at the detector input, pixels, from which TinyFaceDetector finds a frontal face
// reliably. Measured on face-api's sample photos placed small on a 1080p canvas (docs/face.md, "Small faces"):
// nothing under 24 px, about half at 32-40 px, 93% at 44-48 px, all 56 from 48 px (its smallest anchor is 51x67
// input pixels).
constexpr double k_face_detector_min_face_at_input = 48.0;
constexpr int k_face_detector_auto_min = 512;   // auto never goes below this
constexpr int k_face_detector_auto_max = 2304;  // nor above this: 1080p with 40 px faces; ~20x the cost of 512
constexpr int k_face_detector_max = 3072;       // largest explicit size accepted

// The input side `auto` chooses for a width x height frame so that a face min_face_height pixels high is found:
// ceil(max(W, H) * k_face_detector_min_face_at_input / min_face_height) rounded up to a multiple of 32, clamped to
// [k_face_detector_auto_min, k_face_detector_auto_max].
int face_detector_input_size_auto(int width, int height, double min_face_height);

// The passes `auto` runs: {512} when 512 finds faces of min_face_height (allowing 25%: a 480x480 frame at 512 finds
// from 45 px, not worth a second pass for 40), else {512, face_detector_input_size_auto(...)}.
std::vector<int> face_detector_auto_passes(int width, int height, double min_face_height);

// Smallest face height (frame pixels) that input side S still finds in a width x height frame.
double face_detector_min_face_height(int width, int height, int input_size);

}  // namespace s3e
