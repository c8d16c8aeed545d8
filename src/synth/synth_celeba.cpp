#include "synth/synth_celeba.h"

namespace s3e {

const std::vector<std::string>& celeba_region_names() {
  static const std::vector<std::string> names = {"hair", "brows_eyes", "nose", "mouth", "jaw", "skin",
                                                 "accessories"};
  return names;
}

const std::vector<double>& celeba_prevalence() {
  static const std::vector<double> p = {
      0.111,  // 5_o_Clock_Shadow
      0.267,  // Arched_Eyebrows
      0.512,  // Attractive
      0.205,  // Bags_Under_Eyes
      0.022,  // Bald
      0.152,  // Bangs
      0.241,  // Big_Lips
      0.235,  // Big_Nose
      0.239,  // Black_Hair
      0.148,  // Blond_Hair
      0.051,  // Blurry
      0.205,  // Brown_Hair
      0.142,  // Bushy_Eyebrows
      0.058,  // Chubby
      0.047,  // Double_Chin
      0.065,  // Eyeglasses
      0.063,  // Goatee
      0.042,  // Gray_Hair
      0.387,  // Heavy_Makeup
      0.455,  // High_Cheekbones
      0.417,  // Male
      0.483,  // Mouth_Slightly_Open
      0.042,  // Mustache
      0.115,  // Narrow_Eyes
      0.835,  // No_Beard
      0.284,  // Oval_Face
      0.043,  // Pale_Skin
      0.277,  // Pointy_Nose
      0.080,  // Receding_Hairline
      0.066,  // Rosy_Cheeks
      0.057,  // Sideburns
      0.482,  // Smiling
      0.208,  // Straight_Hair
      0.320,  // Wavy_Hair
      0.189,  // Wearing_Earrings
      0.048,  // Wearing_Hat
      0.472,  // Wearing_Lipstick
      0.123,  // Wearing_Necklace
      0.073,  // Wearing_Necktie
      0.774,  // Young
  };
  return p;
}

const std::vector<int>& celeba_region() {
  // 0 hair, 1 brows_eyes, 2 nose, 3 mouth, 4 jaw, 5 skin, 6 accessories (incl. image quality).
  static const std::vector<int> r = {
      4,  // 5_o_Clock_Shadow
      1,  // Arched_Eyebrows
      5,  // Attractive
      1,  // Bags_Under_Eyes
      0,  // Bald
      0,  // Bangs
      3,  // Big_Lips
      2,  // Big_Nose
      0,  // Black_Hair
      0,  // Blond_Hair
      6,  // Blurry
      0,  // Brown_Hair
      1,  // Bushy_Eyebrows
      5,  // Chubby
      4,  // Double_Chin
      1,  // Eyeglasses
      4,  // Goatee
      0,  // Gray_Hair
      5,  // Heavy_Makeup
      5,  // High_Cheekbones
      4,  // Male
      3,  // Mouth_Slightly_Open
      3,  // Mustache
      1,  // Narrow_Eyes
      4,  // No_Beard
      4,  // Oval_Face
      5,  // Pale_Skin
      2,  // Pointy_Nose
      0,  // Receding_Hairline
      5,  // Rosy_Cheeks
      4,  // Sideburns
      3,  // Smiling
      0,  // Straight_Hair
      0,  // Wavy_Hair
      6,  // Wearing_Earrings
      6,  // Wearing_Hat
      3,  // Wearing_Lipstick
      6,  // Wearing_Necklace
      6,  // Wearing_Necktie
      5,  // Young
  };
  return r;
}

const std::vector<int>& celeba_partner() {
  // Twenty pairs: the strongly related ones first (Male/Heavy_Makeup, Goatee/Mustache, Young/Gray_Hair,
  // Smiling/High_Cheekbones, No_Beard/5_o_Clock_Shadow, Wearing_Lipstick/Attractive, Chubby/Double_Chin,
  // Wavy_Hair/Straight_Hair, Black_Hair/Blond_Hair), then neighbours in the face with weak or no correlation.
  static const std::vector<int> partner = [] {
    const int pairs[20][2] = {{20, 18}, {16, 22}, {39, 17}, {31, 19}, {24, 0},  {36, 2},  {13, 14},
                              {33, 32}, {8, 9},   {11, 5},  {4, 28},  {30, 25}, {7, 27},  {15, 23},
                              {3, 12},  {26, 10}, {34, 37}, {35, 38}, {21, 6},  {1, 29}};
    std::vector<int> p(40, -1);
    for (auto& pr : pairs) p[pr[0]] = pr[1], p[pr[1]] = pr[0];
    return p;
  }();
  return partner;
}

const std::vector<CelebaPairStat>& celeba_label_correlations() {
  // Label phi coefficients over CelebA's annotations, approximate (see the header).
  static const std::vector<CelebaPairStat> stats = {
      {20, 18, -0.67},  // Male - Heavy_Makeup
      {20, 36, -0.79},  // Male - Wearing_Lipstick
      {18, 36, 0.80},   // Heavy_Makeup - Wearing_Lipstick
      {20, 24, -0.52},  // Male - No_Beard
      {20, 16, 0.31},   // Male - Goatee
      {20, 22, 0.26},   // Male - Mustache
      {20, 0, 0.42},    // Male - 5_o_Clock_Shadow
      {20, 30, 0.30},   // Male - Sideburns
      {20, 1, -0.43},   // Male - Arched_Eyebrows
      {20, 2, -0.39},   // Male - Attractive
      {20, 38, 0.24},   // Male - Wearing_Necktie
      {20, 7, 0.30},    // Male - Big_Nose
      {16, 22, 0.40},   // Goatee - Mustache
      {24, 16, -0.55},  // No_Beard - Goatee
      {24, 22, -0.45},  // No_Beard - Mustache
      {24, 0, -0.30},   // No_Beard - 5_o_Clock_Shadow
      {24, 30, -0.45},  // No_Beard - Sideburns
      {16, 30, 0.50},   // Goatee - Sideburns
      {31, 19, 0.68},   // Smiling - High_Cheekbones
      {31, 21, 0.53},   // Smiling - Mouth_Slightly_Open
      {19, 21, 0.42},   // High_Cheekbones - Mouth_Slightly_Open
      {39, 17, -0.32},  // Young - Gray_Hair
      {39, 2, 0.39},    // Young - Attractive
      {39, 13, -0.25},  // Young - Chubby
      {39, 14, -0.25},  // Young - Double_Chin
      {2, 18, 0.48},    // Attractive - Heavy_Makeup
      {2, 36, 0.48},    // Attractive - Wearing_Lipstick
      {18, 1, 0.45},    // Heavy_Makeup - Arched_Eyebrows
      {13, 14, 0.48},   // Chubby - Double_Chin
      {33, 32, -0.33},  // Wavy_Hair - Straight_Hair
      {8, 9, -0.23},    // Black_Hair - Blond_Hair
      {8, 11, -0.27},   // Black_Hair - Brown_Hair
      {9, 11, -0.20},   // Blond_Hair - Brown_Hair
      {34, 36, 0.30},   // Wearing_Earrings - Wearing_Lipstick
      {34, 37, 0.30},   // Wearing_Earrings - Wearing_Necklace
      {7, 27, -0.20},   // Big_Nose - Pointy_Nose
  };
  return stats;
}

}  // namespace s3e
