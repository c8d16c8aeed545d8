// pipeline/report_html.cpp — the report page: escaping, embedding and the one inline script that draws the charts.
#include "pipeline/report_html.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

namespace s3e {
namespace {

// Builds every chart from the page's JSON data with the inlined library. Animation off and progressive rendering
// off, so a chart is complete in the first frame it is drawn (a screenshot sees the final picture); when every
// chart has reported 'finished', <html data-s3e-charts="drawn"> tells readers (the screenshot test) it is done.
constexpr const char* k_chart_script = R"JS(
(function () {
  var data = JSON.parse(document.getElementById('s3e-data').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
                 '#7f7f7f', '#bcbd22'];
  function v(y) { return y === null || y === undefined ? '-' : y; }
  function common(c) {
    return {
      animation: false, color: palette,
      title: {text: c.title, left: 'center', top: 4, textStyle: {fontSize: 13, fontWeight: 'bold'}},
      tooltip: {trigger: 'axis'},
      grid: {left: 70, right: 28, top: 62, bottom: 52, containLabel: false}
    };
  }
  function axis(type, name, extra) {
    var a = {type: type, name: name, nameLocation: 'middle', nameGap: 30, scale: true};
    for (var k in extra) a[k] = extra[k];
    return a;
  }
  function lines(c) {
    var o = common(c);
    o.legend = {top: 26, type: 'scroll'};
    o.xAxis = axis('value', c.x_label, {min: 'dataMin', max: 'dataMax'});
    o.yAxis = axis(c.spec.log_y ? 'log' : 'value', c.y_label, {nameGap: 50});
    o.series = c.spec.series.map(function (s) {
      return {name: s.name, type: 'line', progressive: 0, showSymbol: s.x.length <= 40, symbolSize: 4,
              data: s.x.map(function (x, i) { return [x, v(s.y[i])]; })};
    });
    return o;
  }
  function errorbars(c) {
    var o = common(c);
    o.legend = {top: 26, type: 'scroll'};
    o.xAxis = c.spec.x_category ? axis('category', c.x_label, {data: c.spec.categories, scale: false})
                                : axis('value', c.x_label, {});
    o.yAxis = axis('value', c.y_label, {nameGap: 50});
    o.series = [];
    c.spec.series.forEach(function (s, k) {
      var color = palette[k % palette.length];
      o.series.push({name: s.name, type: 'line', color: color, symbolSize: 6,
                     data: s.x.map(function (x, i) { return [x, v(s.y[i])]; })});
      var bars = [];
      s.x.forEach(function (x, i) {
        if (s.y[i] !== null && s.err[i] !== null) bars.push([x, s.y[i] - s.err[i], s.y[i] + s.err[i]]);
      });
      o.series.push({name: s.name, type: 'custom', color: color, silent: true, data: bars, encode: {x: 0, y: [1, 2]},
        renderItem: function (params, api) {
          var lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
          var st = {stroke: color, lineWidth: 1.5};
          return {type: 'group', children: [
            {type: 'line', shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: st},
            {type: 'line', shape: {x1: lo[0] - 5, y1: lo[1], x2: lo[0] + 5, y2: lo[1]}, style: st},
            {type: 'line', shape: {x1: hi[0] - 5, y1: hi[1], x2: hi[0] + 5, y2: hi[1]}, style: st}]};
        }});
    });
    return o;
  }
  function heatmap(c) {
    var o = common(c);
    o.tooltip = {position: 'top'};
    o.grid = {left: 110, right: 28, top: 34, bottom: 86};
    o.xAxis = axis('category', c.x_label, {data: c.spec.cols, scale: false, splitArea: {show: true}});
    o.yAxis = axis('category', c.y_label, {data: c.spec.rows, scale: false, inverse: true, nameGap: 90});
    o.visualMap = {min: c.spec.min, max: c.spec.max, calculable: false, orient: 'horizontal', left: 'center',
                   bottom: 4, itemHeight: 160, precision: 2, text: [String(c.spec.max), String(c.spec.min)],
                   inRange: {color: ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725']}};
    o.series = [{type: 'heatmap', progressive: 0, data: c.spec.values}];
    return o;
  }
  var build = {lines: lines, errorbars: errorbars, heatmap: heatmap};
  var boxes = document.querySelectorAll('[data-s3e-chart]');
  var pending = boxes.length;
  function done() { if (--pending <= 0) document.documentElement.setAttribute('data-s3e-charts', 'drawn'); }
  if (pending === 0) document.documentElement.setAttribute('data-s3e-charts', 'drawn');
  boxes.forEach(function (box) {
    var c = data.charts[Number(box.getAttribute('data-s3e-chart'))];
    var chart = echarts.init(box, null, {renderer: 'canvas'});
    chart.on('finished', function once() { chart.off('finished', once); done(); });
    chart.setOption(build[c.kind](c));
  });
})();
)JS";

constexpr const char* k_style = R"CSS(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto;
       max-width: 1280px; padding: 0 24px 48px; color: #1d2228; background: #fff; }
h1 { font-size: 22px; margin: 20px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #dde;
     padding-bottom: 4px; } h3 { font-size: 15px; margin: 16px 0 6px; }
nav a { margin-right: 14px; } .meta { color: #555; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; display: block; max-width: 100%;
        overflow-x: auto; }
th, td { border: 1px solid #d7dbe0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .sha { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
details { margin: 2px 0; } summary { cursor: pointer; color: #245; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; margin: 8px 0 16px; }
.chart { width: 100%; border: 1px solid #e3e6ea; border-radius: 4px; background: #fff; }
figure { margin: 8px 0 18px; } figure img { display: block; max-width: 100%; border: 1px solid #e3e6ea; }
figcaption { color: #555; font-size: 13px; margin-top: 4px; }
.na { color: #8a5a00; }
)CSS";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  static const char* k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    out += k_alphabet[n >> 18 & 63];
    out += k_alphabet[n >> 12 & 63];
    out += k_alphabet[n >> 6 & 63];
    out += k_alphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += k_alphabet[n >> 18 & 63];
    out += k_alphabet[n >> 12 & 63];
    out += i + 1 < bytes.size() ? k_alphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string json_for_script(const nlohmann::json& value) {
  // Invalid UTF-8 in a name (a file name from disk) is replaced rather than failing the whole report.
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' && (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string script_for_html(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    out += source[i];
    if (source[i] != '<' || i + 8 > source.size() || source[i + 1] != '/') continue;
    bool match = true;
    for (int k = 0; match && k < 6; ++k)
      match = std::tolower(static_cast<unsigned char>(source[i + 2 + k])) == "script"[k];
    if (match) out += '\\';  // "<" then "\/script..."
  }
  return out;
}

ReportPage::ReportPage(std::string title) : title_(std::move(title)) {}

void ReportPage::close_grid() {
  if (in_grid_) body_ += "</div>\n";
  in_grid_ = false;
}

void ReportPage::section(const std::string& id, const std::string& title) {
  close_grid();
  if (!toc_.empty()) body_ += "</section>\n";
  toc_.emplace_back(id, title);
  body_ += fmt::format("<section id=\"{}\"><h2>{}</h2>\n", html_escape(id), html_escape(title));
}

void ReportPage::html(const std::string& fragment) {
  close_grid();
  body_ += fragment;
  body_ += "\n";
}

void ReportPage::text(const std::string& plain) { html("<p>" + html_escape(plain) + "</p>"); }

void ReportPage::chart(const ReportChart& chart) {
  if (!in_grid_) body_ += "<div class=\"grid\">\n";
  in_grid_ = true;
  const size_t index = charts_.size();
  charts_.push_back({{"kind", chart.kind}, {"title", chart.title}, {"x_label", chart.x_label},
                     {"y_label", chart.y_label}, {"spec", chart.spec}});
  body_ += fmt::format("<div class=\"chart\" style=\"height:{}px\" data-s3e-figure=\"{}\" data-s3e-chart=\"{}\" "
                       "role=\"img\" aria-label=\"{}\"></div>\n",
                       chart.height_px, html_escape(chart.figure), index, html_escape(chart.title));
}

void ReportPage::picture(const std::string& figure, const std::string& png_bytes, const std::string& caption) {
  html(fmt::format("<figure><img data-s3e-figure=\"{}\" alt=\"{}\" src=\"data:image/png;base64,{}\">"
                   "<figcaption>{}</figcaption></figure>",
                   html_escape(figure), html_escape(caption), base64_encode(png_bytes), html_escape(caption)));
}

void ReportPage::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<table><thead><tr>";
  for (auto& h : header) t += "<th>" + html_escape(h) + "</th>";
  t += "</tr></thead><tbody>\n";
  for (auto& row : rows) {
    t += "<tr>";
    for (auto& cell : row) {
      // Numbers align right: a cell that parses whole as a number.
      char* end = nullptr;
      const bool number = !cell.empty() && (std::strtod(cell.c_str(), &end), end && *end == '\0');
      t += number ? "<td class=\"num\">" : "<td>";
      t += html_escape(cell) + "</td>";
    }
    t += "</tr>\n";
  }
  t += "</tbody></table>";
  html(t);
}

std::string ReportPage::render(const std::string& library_js) const {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // No request may leave the page: the policy forbids every fetch; inline scripts, styles and data: pictures only.
  page += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
          "style-src 'unsafe-inline'; img-src data:\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + html_escape(title_) + "</title>\n<style>" + k_style + "</style>\n</head>\n<body>\n";
  page += "<h1>" + html_escape(title_) + "</h1>\n<nav>";
  for (auto& [id, title] : toc_) page += "<a href=\"#" + html_escape(id) + "\">" + html_escape(title) + "</a>";
  page += "</nav>\n";
  page += body_;
  if (in_grid_) page += "</div>\n";
  if (!toc_.empty()) page += "</section>\n";
  page += "<script type=\"application/json\" id=\"s3e-data\">" + json_for_script({{"charts", charts_}}) +
          "</script>\n";
  page += "<script>" + script_for_html(library_js) + "</script>\n";
  page += "<script>" + std::string(k_chart_script) + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace s3e
