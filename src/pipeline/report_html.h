// pipeline/report_html.h — the report's page: one self-contained HTML file (no request leaves it: the charting
// library, the chart data and every picture are inside). Sections hold HTML; charts are declared as data (a
// ReportChart: lines, error bars or a heat map) that one small inline script hands to the charting library
// (Apache ECharts, inlined), and pictures are PNG bytes embedded as data: URLs. Every chart box and picture gets
// `data-s3e-figure="<name>"`, so tests and readers can find each figure's box on the page.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace s3e {

// Text made safe inside HTML elements and attribute values (& < > " ').
std::string html_escape(const std::string& text);
// Standard base64 (RFC 4648, with padding).
std::string base64_encode(const std::string& bytes);
// JSON text safe inside a <script> element: '<', '>', '&', U+2028 and U+2029 are written as \u escapes (only
// strings can hold them, so the JSON means the same).
std::string json_for_script(const nlohmann::json& value);
// A script's source safe inside a <script> element: "</script" (any case) becomes "<\/script", which means the
// same inside JavaScript strings, templates and regular expressions, the only places it can occur.
std::string script_for_html(const std::string& source);

// One chart, as data (the page's script turns it into a chart).
//   kind "lines":     series[i] = {"name", "x": [...], "y": [...]} (null: no value); "log_y": bool
//   kind "errorbars": series[i] = {"name", "x": [...], "y": [...], "err": [...]} (mean and spread); "x_category"
//                     true when x values are labels, not numbers
//   kind "heatmap":   "rows": [labels], "cols": [labels], "values": [[row, col, value], ...], "min", "max"
struct ReportChart {
  std::string figure;  // data-s3e-figure name, unique on the page
  std::string kind;
  std::string title, x_label, y_label;
  nlohmann::json spec;  // kind-specific fields above
  int height_px = 300;
};

class ReportPage {
 public:
  explicit ReportPage(std::string title);

  // Starts a section (listed in the table of contents). `id` is a short HTML id.
  void section(const std::string& id, const std::string& title);
  // Raw HTML into the current section (callers escape their text with html_escape).
  void html(const std::string& fragment);
  // A paragraph of plain text.
  void text(const std::string& plain);
  // A chart box in the current section. Charts go side by side in a grid until the next html()/text().
  void chart(const ReportChart& chart);
  // A PNG picture with its caption, full width.
  void picture(const std::string& figure, const std::string& png_bytes, const std::string& caption);
  // A table: header cells and rows of cells (plain text, escaped here).
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

  size_t chart_count() const { return charts_.size(); }
  // The whole page; `library_js` is the charting library's source, inlined once.
  std::string render(const std::string& library_js) const;

 private:
  void close_grid();
  std::string title_;
  std::vector<std::pair<std::string, std::string>> toc_;  // id, title
  std::string body_;
  nlohmann::json charts_ = nlohmann::json::array();
  bool in_grid_ = false;
};

}  // namespace s3e
