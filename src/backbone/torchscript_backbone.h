// torchscript_backbone.h — a user backbone exported to TorchScript (docs/backbones.md): a folder with
// backbone.json (the sidecar), encoder.pt, generator.pt and optional classifier.pt. Every module's signature is
// checked on load (arity, shapes, dtypes, finite outputs on a probe input); errors name the file and what is wrong.
// TorchScript files are code: they are loaded only from the folder the user names (trust model in docs/backbones.md).
#pragma once
#include <filesystem>
#include <memory>

#include "backbone/backbone.h"

namespace s3e {

std::unique_ptr<Backbone> torchscript_backbone_open(const std::filesystem::path& dir, const BackboneOpenOptions& options);

}  // namespace s3e
