// pipeline/edit_strength.h — edit strengths in the backbone's units. A user asks for `smile=+0.1` meaning "the
// smile measure 0.1 higher" (for the landmark backbone: mouth corners 0.1 inter-ocular distance higher,
// docs/backbones.md), while an editor takes a strength g in its own normalised units whose effect on a measure
// differs by editor, attribute and face. This module finds, for the frames of one face track, the editor strength
// whose edit moves the mean of the step's measure over the track by the asked amount (secant iterations on the
// measured change), and applies the steps of a recipe in order, each calibrated on the previous step's output.
// One g per track and step, not per frame: a per-frame g would follow every wobble of the measure and flicker.
//
// Units: `measure` (the default where the backbone measures the attribute) or `editor` (g as given, as `edit
// --store` takes it; for backbones without measures).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "backbone/backbone.h"
#include "editor/editor_runtime.h"

namespace s3e {

struct StrengthStep {
  std::string name;        // attribute name, as the user wrote it
  int attribute = 0;       // the editor's attribute index
  int measure = -1;        // the backbone's measure column (-1: none; units must then be "editor")
  double target = 0;       // asked change: measure units, or g itself in editor units
};

struct StrengthOptions {
  std::string units = "measure";  // measure | editor
  double max_strength = 20;       // |g| is capped here (the edit then falls short; the result says so)
  double tolerance = 0.02;        // stop when the mean change is within this share of the target
  int iterations = 6;
};

struct CalibratedStep {
  double g = 0;            // the editor strength used
  double achieved = 0;     // mean measure change over the track (NaN without a measure)
  int iterations = 0;
  bool capped = false;     // |g| hit max_strength
};

// Parses "NAME=STRENGTH" texts against the editor and the backbone; UsageError naming the text, an unknown
// attribute, or measure units where the backbone does not measure the attribute.
std::vector<StrengthStep> strength_steps_parse(const std::vector<std::string>& texts, const EditorRuntime& editor,
                                               const Backbone& backbone, const std::string& units);

// Applies the steps in order to the latents of one track x [n, D]; returns the edited latents and fills `out` (one
// entry per step). Throws DataError when the editor's edit does not move the measure in the asked direction (with
// the attribute's name and the change measured at the largest strength tried).
torch::Tensor strength_apply_track(const EditorRuntime& editor, const Backbone& backbone, const torch::Tensor& x,
                                   const std::vector<StrengthStep>& steps, const StrengthOptions& options,
                                   std::vector<CalibratedStep>* out);

}  // namespace s3e
