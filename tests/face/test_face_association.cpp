// face_associate (which detection continues which track) and the automatic detector input size, on boxes and
// descriptors made up for each case: no nets run.
#include <gtest/gtest.h>

#include "face/face_association.h"
#include "face/face_detector_size.h"

namespace s3e::test {
namespace {

FaceDescriptor descriptor_at(float v) {
  FaceDescriptor d{};
  d[0] = v;  // distances are |a[0] - b[0]|
  return d;
}

FaceAssociationDetection detection(FaceBox box, double score, float identity) {
  FaceAssociationDetection d;
  d.box = box;
  d.landmark_box = {box.x + box.width * 0.1, box.y + box.height * 0.2, box.width * 0.8, box.height * 0.75};
  d.score = score;
  d.has_descriptor = true;
  d.descriptor = descriptor_at(identity);
  return d;
}

FaceAssociationTrack live_track(int id, FaceBox predicted, float identity) {
  FaceAssociationTrack t;
  t.id = id;
  t.live = true;
  t.predicted_box = predicted;
  t.landmark_box = {predicted.x + predicted.width * 0.1, predicted.y + predicted.height * 0.2,
                    predicted.width * 0.8, predicted.height * 0.75};
  t.has_descriptor = true;
  t.descriptor = descriptor_at(identity);
  return t;
}

TEST(FaceAssociation, ContainmentIsOneForABoxInsideAnother) {
  EXPECT_DOUBLE_EQ(face_box_containment({0, 0, 100, 100}, {20, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(face_box_containment({0, 0, 100, 100}, {50, 0, 100, 100}), 0.5);
  EXPECT_DOUBLE_EQ(face_box_containment({0, 0, 10, 10}, {20, 20, 5, 5}), 0.0);
}

// The case: a wide fresh detection (IoU with the tracked crop below 0.3) holding the constant-velocity crop
// of the same face, its descriptor beyond the old 0.6 bound. It continues the track; nothing else is left on it.
TEST(FaceAssociation, WideDetectionAroundATrackedCropContinuesTheTrack) {
  auto wide = detection({100, 100, 300, 160}, 0.64, 0.7f);
  auto track = live_track(0, {190, 110, 90, 110}, 0.0f);
  auto a = face_associate({wide}, {track}, {});
  ASSERT_EQ(a.track_of.size(), 1u);
  EXPECT_EQ(a.track_of[0], 0);
  EXPECT_TRUE(a.ended.empty());
}

// At a live track's place, a clearly different person (distance beyond merge_distance) starts a new track, and the
// old track ends rather than stay on the same face.
TEST(FaceAssociation, SomeoneElseAtATracksPlaceEndsIt) {
  auto other = detection({100, 100, 100, 120}, 0.9, 1.5f);
  auto track = live_track(0, {105, 100, 100, 120}, 0.0f);
  auto a = face_associate({other}, {track}, {});
  EXPECT_EQ(a.track_of[0], FaceAssociation::k_new);
  ASSERT_EQ(a.ended.size(), 1u);
  EXPECT_EQ(a.ended[0], 0);
}

// Two detections of one face (a tight box inside a wide one): the better score holds it, the other is dropped.
TEST(FaceAssociation, TwoDetectionsOfOneFaceCountOnce) {
  auto tight = detection({150, 120, 80, 100}, 0.95, 0.0f);
  auto wide = detection({100, 100, 240, 140}, 0.6, 0.3f);
  auto a = face_associate({wide, tight}, {}, {});
  EXPECT_EQ(a.track_of[1], FaceAssociation::k_new);
  EXPECT_EQ(a.track_of[0], FaceAssociation::k_duplicate);
}

// Neighbours in a group photo stay apart: each detection continues its own track, by place, even when the
// descriptors would fit either.
TEST(FaceAssociation, NeighboursKeepTheirOwnTracks) {
  std::vector<FaceAssociationDetection> dets = {detection({100, 100, 60, 70}, 0.9, 0.2f),
                                                detection({165, 102, 60, 70}, 0.9, 0.25f)};
  std::vector<FaceAssociationTrack> tracks = {live_track(0, {103, 101, 60, 70}, 0.2f),
                                              live_track(1, {168, 100, 60, 70}, 0.22f)};
  auto a = face_associate(dets, tracks, {});
  EXPECT_EQ(a.track_of[0], 0);
  EXPECT_EQ(a.track_of[1], 1);
  EXPECT_TRUE(a.ended.empty());
}

// Away from every live track, a detection takes a known (not live) identity by descriptor, else a new track.
TEST(FaceAssociation, KnownIdentityElsewhereOrNewTrack) {
  FaceAssociationTrack gone;
  gone.id = 0, gone.has_descriptor = true, gone.descriptor = descriptor_at(0.0f);
  auto back = detection({500, 100, 60, 70}, 0.9, 0.3f);
  auto stranger = detection({100, 300, 60, 70}, 0.9, 2.0f);
  auto a = face_associate({back, stranger}, {gone}, {});
  EXPECT_EQ(a.track_of[0], 0);
  EXPECT_EQ(a.track_of[1], FaceAssociation::k_new);
}

TEST(FaceDetectorSize, AutoFindsTheMinimumFaceWithinBounds) {
  // Small frames keep the single historical 512 pass (talking heads, face-api parity); 1080p adds a pass large
  // enough that 40 px faces are found.
  EXPECT_EQ(face_detector_auto_passes(360, 288, 40), std::vector<int>({512}));
  EXPECT_EQ(face_detector_auto_passes(480, 480, 40), std::vector<int>({512}));  // 512 finds from 45 px
  int hd = face_detector_input_size_auto(1920, 1080, 40);
  EXPECT_EQ(face_detector_auto_passes(1920, 1080, 40), std::vector<int>({512, hd}));
  EXPECT_EQ(hd % 32, 0);
  EXPECT_GT(hd, 512);
  EXPECT_LE(face_detector_min_face_height(1920, 1080, hd), 40.0);
  EXPECT_GT(face_detector_min_face_height(1920, 1080, hd - 32), 40.0);
  EXPECT_EQ(face_detector_input_size_auto(1080, 1920, 40), hd);  // portrait: the long side counts
  EXPECT_EQ(face_detector_input_size_auto(7680, 4320, 20), k_face_detector_auto_max);
}

}  // namespace
}  // namespace s3e::test
