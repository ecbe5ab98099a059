// model_score: scores rows of a CSV file with a model file and prints one
// line per row, the outputs separated by commas, each with "%.17g".
//
//   model_score [--format xgboost_json|lightgbm_text|linear_json|online_snapshot]
//               [--batch] [--info] MODEL CSV
//
// The CSV's first line names the columns. When every model feature is a
// column, values are taken by name; otherwise the columns must be the model's
// features in order. An empty cell, "nan" or "NaN" is a missing value.
// --batch scores all rows with one PredictBatch call instead of row by row.
// --info prints the model's description instead of scoring.
// Exit status: 0 on success, 1 on any error (printed to stderr).

#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "model/model.h"

namespace eddy {
namespace {

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = line.find(',');
    out.push_back(Trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    line = line.substr(comma + 1);
  }
  return out;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "model_score: %s\n", s.ToString().c_str());
  return 1;
}

int Run(int argc, char** argv) {
  std::optional<ModelFormat> format;
  bool batch = false, info_only = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--format" && i + 1 < argc) {
      auto f = ParseModelFormat(argv[++i]);
      if (!f.ok()) return Fail(f.status());
      format = *f;
    } else if (a == "--batch") {
      batch = true;
    } else if (a == "--info") {
      info_only = true;
    } else {
      args.emplace_back(a);
    }
  }
  if (args.size() != (info_only ? 1u : 2u)) {
    std::fprintf(stderr,
                 "usage: model_score [--format F] [--batch] MODEL CSV\n"
                 "       model_score [--format F] --info MODEL\n");
    return 2;
  }
  auto model = format ? LoadModelFile(args[0], *format) : LoadModelFile(args[0]);
  if (!model.ok()) return Fail(model.status());
  const Model& m = **model;
  const ModelInfo& info = m.info();
  if (info_only) {
    std::printf(
        "format=%s\nobjective=%s\ntask=%s\noutput=%s\nnum_outputs=%zu\nnum_trees=%zu\n"
        "num_features=%zu\ncontent_hash=%s\nfeatures=%s\n",
        std::string(ModelFormatName(info.format)).c_str(), info.objective.c_str(),
        std::string(ModelTaskName(info.task)).c_str(),
        std::string(OutputKindName(info.output)).c_str(), info.num_outputs, info.num_trees,
        info.feature_names.size(), info.content_hash.c_str(),
        StrJoin(info.feature_names, ",").c_str());
    return 0;
  }

  auto csv = ReadFileBytes(args[1]);
  if (!csv.ok()) return Fail(csv.status());
  std::string_view rest = *csv;
  auto next_line = [&rest]() {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  const std::vector<std::string_view> header = SplitCsv(next_line());
  const size_t nf = m.num_features();
  std::vector<size_t> column(nf);
  bool by_name = true;
  for (size_t i = 0; i < nf && by_name; ++i) {
    by_name = false;
    for (size_t c = 0; c < header.size(); ++c) {
      if (header[c] == info.feature_names[i]) {
        column[i] = c;
        by_name = true;
        break;
      }
    }
  }
  if (!by_name) {
    if (header.size() != nf) {
      return Fail(Status::InvalidArgument(
          StrCat(args[1], ": the header has ", header.size(),
                 " columns and does not name the model's features; expected ", nf, " columns")));
    }
    for (size_t i = 0; i < nf; ++i) column[i] = i;
  }

  std::vector<double> rows;
  size_t line_no = 1;
  while (!rest.empty()) {
    std::string_view line = next_line();
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string_view> cells = SplitCsv(line);
    if (cells.size() != header.size()) {
      return Fail(Status::InvalidArgument(StrCat(args[1], " line ", line_no, ": ", cells.size(),
                                                 " cells, expected ", header.size())));
    }
    for (size_t i = 0; i < nf; ++i) {
      std::string_view cell = cells[column[i]];
      double v = std::numeric_limits<double>::quiet_NaN();
      if (!cell.empty() && cell != "nan" && cell != "NaN") {
        auto r = std::from_chars(cell.data(), cell.data() + cell.size(), v);
        if (r.ec != std::errc() || r.ptr != cell.data() + cell.size()) {
          return Fail(Status::InvalidArgument(
              StrCat(args[1], " line ", line_no, ": ", Quote(cell), " is not a number")));
        }
      }
      rows.push_back(v);
    }
  }
  const size_t num_rows = nf == 0 ? 0 : rows.size() / nf;
  const size_t no = m.num_outputs();
  std::vector<double> out(num_rows * no);
  if (batch) {
    Status s = m.PredictBatch(rows, out);
    if (!s.ok()) return Fail(s);
  } else {
    for (size_t r = 0; r < num_rows; ++r) {
      Status s = m.Predict(std::span<const double>(rows).subspan(r * nf, nf),
                           std::span<double>(out).subspan(r * no, no));
      if (!s.ok()) return Fail(s);
    }
  }
  std::string text;
  char buf[32];
  for (size_t r = 0; r < num_rows; ++r) {
    for (size_t k = 0; k < no; ++k) {
      if (k > 0) text.push_back(',');
      int n = std::snprintf(buf, sizeof(buf), "%.17g", out[r * no + k]);
      text.append(buf, static_cast<size_t>(n));
    }
    text.push_back('\n');
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) { return eddy::Run(argc, argv); }
