// tiny_face_decode.h — TinyFaceDetector output decoding (5-anchor YOLO, sigmoid/exp in double as face-api's JS
// does) and its greedy IoU non-maximum suppression (faceapi-port.md §4). Torch-free: works on the raw output.
#pragma once
#include <vector>

#include "face/face_types.h"

namespace s3e {

struct TinyFaceDecodeOptions {
  int input_size = 512;          // net input side S (multiple of 32)
  double score_threshold = 0.5;  // strict >
  double iou_threshold = 0.4;    // suppress when IoU > this
};

// `output`: the conv8 map of one image, NCHW [25, G, G] (channel = anchor*5 + k). Returns the detections in
// image pixels, in NMS pick order (descending score), boxes as face-api's FaceDetection.box reports them.
std::vector<FaceDetection> tiny_face_decode(const float* output, int grid, int image_width, int image_height,
                                            const TinyFaceDecodeOptions& options);

// The size of the image inside the padded S x S input (JS Math.round), e.g. 1920x1280 @512 -> 512x341.
void tiny_face_reshaped_size(int image_width, int image_height, int input_size, int* width, int* height);

}  // namespace s3e
