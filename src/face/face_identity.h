// face_identity.h — identity comparison of face-api descriptors (DESIGN.md §6). Raw cosine of these descriptors is
// 0.82-0.95 even between different people, so identity uses the cosine after subtracting a population mean
// descriptor (shipped as data/face/descriptor_population_mean.json, see its provenance note), with the Euclidean
// distance (face-api's native metric; same person < ~0.45-0.6) reported beside it.
#pragma once
#include <filesystem>

#include "face/face_types.h"

namespace s3e {

double face_descriptor_distance(const FaceDescriptor& a, const FaceDescriptor& b);  // Euclidean
double face_descriptor_cosine(const FaceDescriptor& a, const FaceDescriptor& b);    // raw cosine
// Cosine of (a - mean) and (b - mean).
double face_descriptor_cosine_centred(const FaceDescriptor& a, const FaceDescriptor& b, const FaceDescriptor& mean);

// Reads a population mean file ({"mean": [128 numbers], ...}); DataError naming the file when malformed.
FaceDescriptor face_population_mean_load(const std::filesystem::path& path);
// The shipped mean: $S3E_DATA_DIR/face/..., else <source dir>/data/face/descriptor_population_mean.json (cached).
const FaceDescriptor& face_population_mean();
std::filesystem::path face_population_mean_path();

}  // namespace s3e
