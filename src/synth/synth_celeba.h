// synth_celeba.h — the CelebA statistics the honest synthetic world is fixed from (docs/synth.md, "The honest
// preset"): each of the 40 attributes' prevalence, the facial region it lives in (7 regions), its partner (the
// correlated attribute its direction overlaps and its proxy label leans on), and the label correlations (phi
// coefficients) of well-known attribute pairs. Numbers are those of CelebA's attribute annotations
// (list_attr_celeba.txt, 202,599 images) as commonly reported, rounded; the correlations are approximate (quoted
// from memory of that file's statistics, signs certain, magnitudes to about +-0.1). Indices follow
// store/celeba_attributes.h.
#pragma once
#include <string>
#include <vector>

namespace s3e {

struct CelebaPairStat {
  int a, b;
  double phi;  // correlation of the 0/1 labels
};

const std::vector<std::string>& celeba_region_names();   // the 7 regions
const std::vector<double>& celeba_prevalence();          // [40], share of images with the attribute
const std::vector<int>& celeba_region();                 // [40], index into celeba_region_names()
const std::vector<int>& celeba_partner();                // [40], a perfect matching (partner of partner = self)
const std::vector<CelebaPairStat>& celeba_label_correlations();

}  // namespace s3e
