// Matched edit success (docs/metrics.md, "Matched success"): latent_eval_matched_success on hand-made curves whose
// interpolated values are computed by hand; targets outside the curve give null.
#include <gtest/gtest.h>

#include "pipeline/latent_eval.h"

using namespace s3e;
using nlohmann::json;

namespace {

// One report as metrics_report_json writes it, with only what the matched table reads.
json report(double strength, json seen, json unseen, std::vector<std::string> metrics = {"success", "identity", "drift"}) {
  return {{"strength", strength}, {"metrics", metrics}, {"summary", {{"seen", seen}, {"unseen", unseen}}}};
}

// Strengths 0.5, 1, 2. Seen success 0.4, 0.7, 0.9; unseen 0.1, 0.2, 0.3.
std::vector<json> curve() {
  return {report(0.5, {{"success", 0.4}, {"identity", 1.00}, {"drift", 0.1}}, {{"success", 0.1}, {"identity", 0.9}, {"drift", 0.1}}),
          report(1.0, {{"success", 0.7}, {"identity", 0.98}, {"drift", 0.2}}, {{"success", 0.2}, {"identity", 0.8}, {"drift", nullptr}}),
          report(2.0, {{"success", 0.9}, {"identity", 0.94}, {"drift", 0.4}}, {{"success", 0.3}, {"identity", 0.6}, {"drift", 0.5}})};
}

}  // namespace

TEST(MatchedSuccess, InterpolatesEachMetricBetweenTheBracketingStrengths) {
  json m = latent_eval_matched_success(curve(), {0.8, 0.55, 0.25, 0.7});
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m["success_metric"], "success");
  ASSERT_EQ(m["by_target"].size(), 4u);
  // 0.8, seen: between 1 (0.7) and 2 (0.9), w = 0.1 / 0.2 = 0.5 -> strength 1.5, identity 0.96, drift 0.3.
  const json& a = m["by_target"][0]["seen"];
  EXPECT_DOUBLE_EQ(m["by_target"][0]["target"].get<double>(), 0.8);
  EXPECT_NEAR(a["strength"].get<double>(), 1.5, 1e-12);
  EXPECT_EQ(a["between"], json({1.0, 2.0}));
  EXPECT_NEAR(a["success"].get<double>(), 0.8, 1e-12);
  EXPECT_NEAR(a["identity"].get<double>(), 0.96, 1e-12);
  EXPECT_NEAR(a["drift"].get<double>(), 0.3, 1e-12);
  // Unseen success never reaches 0.8: null.
  EXPECT_TRUE(m["by_target"][0]["unseen"].is_null());
  // 0.55, seen: between 0.5 (0.4) and 1 (0.7), w = 0.15 / 0.3 = 0.5 -> strength 0.75, identity 0.99, drift 0.15.
  const json& b = m["by_target"][1]["seen"];
  EXPECT_NEAR(b["strength"].get<double>(), 0.75, 1e-12);
  EXPECT_NEAR(b["identity"].get<double>(), 0.99, 1e-12);
  EXPECT_NEAR(b["drift"].get<double>(), 0.15, 1e-12);
  // 0.25: below every seen success (null); unseen between 1 (0.2) and 2 (0.3), w = 0.5 -> strength 1.5,
  // identity 0.7; drift is null at strength 1, so its interpolation is null.
  EXPECT_TRUE(m["by_target"][2]["seen"].is_null());
  const json& c = m["by_target"][2]["unseen"];
  EXPECT_NEAR(c["strength"].get<double>(), 1.5, 1e-12);
  EXPECT_NEAR(c["identity"].get<double>(), 0.7, 1e-12);
  EXPECT_TRUE(c["drift"].is_null());
  // A target hit exactly at a measured strength (0.7 at 1): the first bracket (0.5, 1) ends there, w = 1.
  EXPECT_NEAR(m["by_target"][3]["seen"]["strength"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(m["by_target"][3]["seen"]["identity"].get<double>(), 0.98, 1e-12);
}

TEST(MatchedSuccess, OutsideTheCurveIsNullAndTheLowestBracketWins) {
  json m = latent_eval_matched_success(curve(), {0.95, 0.05});
  for (auto& entry : m["by_target"]) {
    EXPECT_TRUE(entry["seen"].is_null()) << entry.dump();
    EXPECT_TRUE(entry["unseen"].is_null()) << entry.dump();
  }
  // Success that is not monotone (0.4, 0.9, 0.7): 0.8 is reached first between 0.5 and 1, w = 0.4 / 0.5 = 0.8.
  auto c = curve();
  c[1]["summary"]["seen"]["success"] = 0.9;
  json n = latent_eval_matched_success(c, {0.8});
  EXPECT_NEAR(n["by_target"][0]["seen"]["strength"].get<double>(), 0.9, 1e-12);
  EXPECT_NEAR(n["by_target"][0]["seen"]["identity"].get<double>(), 1.0 - 0.8 * 0.02, 1e-12);
  // A flat stretch at the target: the lower strength.
  c = curve();
  c[1]["summary"]["seen"]["success"] = 0.9;
  c[0]["summary"]["seen"]["success"] = 0.9;
  EXPECT_NEAR(latent_eval_matched_success(c, {0.9})["by_target"][0]["seen"]["strength"].get<double>(), 0.5, 1e-12);
}

TEST(MatchedSuccess, JudgeSuccessWithoutTruthAndNothingWithoutEither) {
  std::vector<std::string> judged = {"judge_success", "drift", "classifier_success_circular"};
  std::vector<json> c = {report(1, {{"judge_success", 0.2}, {"drift", 0.1}, {"classifier_success_circular", 0.9}},
                                {{"judge_success", nullptr}}, judged),
                         report(3, {{"judge_success", 0.6}, {"drift", 0.5}, {"classifier_success_circular", 1.0}},
                                {{"judge_success", nullptr}}, judged)};
  json m = latent_eval_matched_success(c, {0.5});
  EXPECT_EQ(m["success_metric"], "judge_success");
  // w = 0.3 / 0.4 = 0.75 -> strength 2.5, drift 0.4; the unseen group has no success: null.
  EXPECT_NEAR(m["by_target"][0]["seen"]["strength"].get<double>(), 2.5, 1e-12);
  EXPECT_NEAR(m["by_target"][0]["seen"]["drift"].get<double>(), 0.4, 1e-12);
  EXPECT_TRUE(m["by_target"][0]["unseen"].is_null());
  // Only the circular success: no matched table (never matched on the editor's own classifier).
  std::vector<std::string> circular = {"drift", "classifier_success_circular"};
  std::vector<json> d = {report(1, {{"classifier_success_circular", 0.2}}, {}, circular),
                         report(2, {{"classifier_success_circular", 0.9}}, {}, circular)};
  EXPECT_TRUE(latent_eval_matched_success(d, {0.5}).is_null());
}
