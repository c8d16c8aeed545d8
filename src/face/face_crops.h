// face_crops.h — face-api's crop arithmetic, reproduced to the last double: which integer crop each net sees
// (clipAtImageBorders + floor), the relative<->absolute box round trips, landmark shifting, the min-bbox
// "alignedRect" for attributes and the dlib-style square crop for descriptors (faceapi-port.md §9).
#pragma once
#include "face/face_types.h"

namespace s3e {

// Box.clipAtImageBorders: clip to the image, then floor x, y, width and height separately (may be empty).
FaceRect face_rect_clip(const FaceBox& box, int image_width, int image_height);

// One absolute -> relative -> absolute round trip (x * (1/W) * W), as FaceDetection does at every forSize().
FaceBox face_box_round_trip(const FaceBox& box, int image_width, int image_height, int times = 1);

// Landmarks relative to a crop (0..1, as the landmark net decodes them) -> image pixels, shifted by `shift`
// (face-api shifts by the unfloored detection box origin, not by the crop origin).
FaceLandmarks face_landmarks_to_image(const FaceLandmarks& relative, const FaceRect& crop, FacePoint shift);

// alignedRect: min bbox of the 68 points (max starts at 0) padded by 20% of its width/height.
FaceBox face_aligned_rect(const FaceLandmarks& landmarks);

// landmarks.align(null, {useDlibAlignment: true}): the square crop of the descriptor net. face-api limits the
// square by the dimensions of the crop the landmarks came from (`landmark_crop`), then clips at the image borders.
FaceRect face_descriptor_rect(const FaceLandmarks& landmarks, const FaceRect& landmark_crop, int image_width,
                              int image_height);

// The crops the descriptor net and the attribute nets see for a tracked face (its landmarks and the crop the landmark
// net saw). A crop that is empty at the frame border becomes {0, 0, 1, 1}: the face is still described (meaninglessly)
// so that it keeps its place in the batch.
struct FaceNetCrops {
  FaceRect descriptor, attributes;
};
FaceNetCrops face_net_crops(const FaceLandmarks& landmarks, const FaceRect& landmark_crop, int image_width,
                            int image_height);

// The centres of the left eye (36-41), right eye (42-47) and mouth (48-67).
FacePoint face_left_eye(const FaceLandmarks& landmarks);
FacePoint face_right_eye(const FaceLandmarks& landmarks);
FacePoint face_mouth(const FaceLandmarks& landmarks);

// Intersection over union of two boxes (0 when either is empty).
double face_box_iou(const FaceBox& a, const FaceBox& b);

// The smallest box holding all 68 points.
FaceBox face_landmarks_bbox(const FaceLandmarks& landmarks);

}  // namespace s3e
