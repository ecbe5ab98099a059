#include "store/training_set.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "base/json_writer.h"
#include "base/strings.h"
#include "base/utf8.h"
#include "ingest/convert.h"
#include "store/text_io.h"

namespace eddy {

using store_internal::AppendCsvText;
using store_internal::AppendCsvValue;
using store_internal::CsvReader;
using store_internal::CsvRecord;
using store_internal::IsJsonNumber;
using store_internal::JsonValue;
using store_internal::LineReader;
using store_internal::OutputFile;

namespace {

constexpr size_t kMaxBadExamples = 10;

// ------------------------------------------------------------ the index
//
// Per requested group: every record of the group, sorted by (key, event
// time, append order), with the encoded vectors in one arena. A query for
// (key, T, ttl) binary-searches the key's records for the event-time range
// [T - ttl, T] and takes the last record in it that was available by T.
// "Last available" is a linear look back over a few records, then a
// min-tree over availability times (for keys whose records became available
// long after their event time, e.g. a backfill).

struct Entry {
  int64_t event_time;
  int64_t available;
  uint64_t seq;     // append order over the whole log
  uint64_t offset;  // of the encoded vector in the arena
  uint32_t key;
  uint32_t length;
};

constexpr size_t kLinearLookBack = 16;

// Lets the key map be searched with a string_view.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

class GroupIndex {
 public:
  void Add(std::string_view key, const HistoryRecord& r, uint64_t seq) {
    auto it = keys_.find(key);
    if (it == keys_.end()) it = keys_.emplace(key, static_cast<uint32_t>(keys_.size())).first;
    entries_.push_back(Entry{r.vector.event_time.micros(), r.vector.computed_at.micros(), seq,
                             arena_.size(), it->second,
                             static_cast<uint32_t>(r.encoded_vector.size())});
    arena_.append(r.encoded_vector);
  }

  void Finish() {
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      if (a.key != b.key) return a.key < b.key;
      if (a.event_time != b.event_time) return a.event_time < b.event_time;
      return a.seq < b.seq;
    });
    begin_.assign(keys_.size() + 1, 0);
    for (const Entry& e : entries_) ++begin_[e.key + 1];
    for (size_t k = 0; k < keys_.size(); ++k) begin_[k + 1] += begin_[k];
    tree_at_.assign(keys_.size(), 0);
    for (size_t k = 0; k < keys_.size(); ++k) {
      const size_t n = begin_[k + 1] - begin_[k];
      if (n <= kLinearLookBack) continue;
      const size_t m = std::bit_ceil(n);
      tree_at_[k] = tree_.size();
      tree_.resize(tree_.size() + 2 * m, std::numeric_limits<int64_t>::max());
      int64_t* t = tree_.data() + tree_at_[k];
      for (size_t i = 0; i < n; ++i) t[m + i] = entries_[begin_[k] + i].available;
      for (size_t i = m - 1; i >= 1; --i) t[i] = std::min(t[2 * i], t[2 * i + 1]);
    }
  }

  // The record served at `t`: the newest (event time, then append order) with
  // event_time <= t, available <= t and t - event_time <= ttl; or nullptr.
  const Entry* Find(std::string_view key, EventTime t, Duration ttl) const {
    auto it = keys_.find(key);
    if (it == keys_.end()) return nullptr;
    const size_t k = it->second;
    const Entry* first = entries_.data() + begin_[k];
    const Entry* last = entries_.data() + begin_[k + 1];
    const int64_t tu = t.micros();
    const int64_t oldest = (t - ttl).micros();
    const Entry* hi = std::upper_bound(first, last, tu,
                                       [](int64_t v, const Entry& e) { return v < e.event_time; });
    const Entry* lo = std::lower_bound(first, hi, oldest,
                                       [](const Entry& e, int64_t v) { return e.event_time < v; });
    // Look back a few records (the common case: available soon after).
    size_t steps = 0;
    const Entry* p = hi;
    while (p > lo && steps < kLinearLookBack) {
      --p;
      ++steps;
      if (p->available <= tu) return p;
    }
    if (p == lo) return nullptr;
    const size_t n = static_cast<size_t>(last - first);
    const int64_t* tree = tree_.data() + tree_at_[k];
    const size_t m = std::bit_ceil(n);
    int64_t i = Rightmost(tree, 1, 0, m, static_cast<size_t>(lo - first),
                          static_cast<size_t>(p - first), tu);
    return i < 0 ? nullptr : first + i;
  }

  std::string_view Encoded(const Entry& e) const {
    return std::string_view(arena_).substr(e.offset, e.length);
  }

  size_t records() const { return entries_.size(); }

 private:
  // The largest index in [lo, hi) whose value is <= t, in the min-tree node
  // `node` covering [nl, nr); -1 if none.
  static int64_t Rightmost(const int64_t* tree, size_t node, size_t nl, size_t nr, size_t lo,
                           size_t hi, int64_t t) {
    if (nr <= lo || nl >= hi || tree[node] > t) return -1;
    if (nr - nl == 1) return static_cast<int64_t>(nl);
    const size_t mid = nl + (nr - nl) / 2;
    int64_t r = Rightmost(tree, 2 * node + 1, mid, nr, lo, hi, t);
    if (r >= 0) return r;
    return Rightmost(tree, 2 * node, nl, mid, lo, hi, t);
  }

  std::unordered_map<std::string, uint32_t, KeyHash, std::equal_to<>> keys_;
  std::vector<Entry> entries_;
  std::vector<size_t> begin_;  // per key, its first entry; begin_[k + 1] its end
  std::string arena_;
  std::vector<int64_t> tree_;  // per key with many records, a min-tree of availability
  std::vector<size_t> tree_at_;
};

// ------------------------------------------------------------ labels

// A value copied from the labels to the output.
struct Cell {
  enum class Kind : uint8_t { kNull, kString, kJson };
  Kind kind = Kind::kNull;
  std::string text;  // the string, or the JSON text
  void SetNull() {
    kind = Kind::kNull;
    text.clear();
  }
  void Set(Kind k, std::string_view t) {
    kind = k;
    text.assign(t);
  }
};

void AppendCellJson(std::string& out, const Cell& c) {
  switch (c.kind) {
    case Cell::Kind::kNull:
      out.append("null");
      break;
    case Cell::Kind::kString:
      AppendJsonString(out, c.text);
      break;
    case Cell::Kind::kJson:
      out.append(c.text);
      break;
  }
}

void AppendCellCsv(std::string& out, const Cell& c) {
  if (c.kind != Cell::Kind::kNull) AppendCsvText(out, c.text);
}

struct LabelRow {
  uint64_t line = 0;
  std::string error;  // non-empty: a bad row, and why
  bool has_id = false;
  Cell id;
  std::string key;
  std::vector<std::string> group_keys;  // per group with its own key field ("" = none)
  EventTime time;
  Cell label;
};

Status BadOption(std::string_view what) { return Status::InvalidArgument(std::string(what)); }

// Epoch milliseconds from a number's text.
bool EpochMillisFromText(std::string_view text, EventTime& out) {
  int64_t i;
  auto r = std::from_chars(text.data(), text.data() + text.size(), i);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
    return EpochToEventTime(i, TimestampFormat::kEpochMillis, out);
  }
  double d;
  auto rd = std::from_chars(text.data(), text.data() + text.size(), d);
  if (rd.ec != std::errc() || rd.ptr != text.data() + text.size()) return false;
  return EpochToEventTime(d, TimestampFormat::kEpochMillis, out);
}

class LabelSource {
 public:
  virtual ~LabelSource() = default;
  // The next row (bad ones with `error` set); false at the end.
  virtual Result<bool> Next(LabelRow& row) = 0;
  // Whether the output has an id column, once known (CSV: from the header;
  // JSON lines: from the first row that is an object).
  virtual std::optional<bool> id_column() const = 0;
  virtual const std::string& path() const = 0;
};

class JsonlLabels : public LabelSource {
 public:
  JsonlLabels(std::unique_ptr<LineReader> lines, const TrainingSetOptions& o)
      : lines_(std::move(lines)), o_(o) {}

  Result<bool> Next(LabelRow& row) override {
    while (true) {
      EDDY_ASSIGN_OR_RETURN(bool more, lines_->Next(line_));
      if (!more) return false;
      if (!Trim(line_).empty()) break;
    }
    row = LabelRow();
    row.line = lines_->line_number();
    Status s = store_internal::ParseJson(line_, doc_);
    if (!s.ok()) {
      row.error = StrCat("not valid JSON: ", s.message());
      return true;
    }
    if (doc_.type() != JsonValue::Type::kObject) {
      row.error = StrCat("expected a JSON object, got ", JsonValue::Describe(doc_.type()));
      return true;
    }
    const JsonValue* id = o_.id_field.empty() ? nullptr : doc_.Find(o_.id_field);
    if (!id_column_) id_column_ = id != nullptr;
    if (id != nullptr && !*id_column_) {
      row.error = StrCat("has field ", Quote(o_.id_field),
                         " but the first label row has none (ids must be in every row or none)");
      return true;
    }
    if (*id_column_) {
      row.has_id = true;
      if (id == nullptr || id->is_null()) {
        row.id.SetNull();
      } else if (id->type() == JsonValue::Type::kString) {
        row.id.Set(Cell::Kind::kString, id->str());
      } else {
        row.id.Set(Cell::Kind::kJson, id->raw());
      }
    }
    const JsonValue* key = doc_.Find(o_.key_field);
    if (key == nullptr || key->is_null()) {
      row.error = StrCat("no key (field ", Quote(o_.key_field), ")");
      return true;
    }
    row.group_keys.assign(o_.group_key_fields.size(), "");
    for (size_t g = 0; g < o_.group_key_fields.size(); ++g) {
      if (o_.group_key_fields[g].empty()) continue;
      const JsonValue* gk = doc_.Find(o_.group_key_fields[g]);
      if (gk == nullptr) continue;
      if (gk->type() == JsonValue::Type::kString) {
        row.group_keys[g] = gk->str();
      } else if (gk->type() == JsonValue::Type::kNumber) {
        row.group_keys[g].assign(gk->raw());
      }
    }
    if (key->type() == JsonValue::Type::kString) {
      row.key = key->str();
    } else if (key->type() == JsonValue::Type::kNumber) {
      row.key.assign(key->raw());
    } else {
      row.error = StrCat("field ", Quote(o_.key_field), ": expected a string or a number, got ",
                         JsonValue::Describe(key->type()));
      return true;
    }
    const JsonValue* t = doc_.Find(o_.time_field);
    if (t == nullptr || t->is_null()) {
      row.error = StrCat("no timestamp (field ", Quote(o_.time_field), ")");
      return true;
    }
    if (t->type() == JsonValue::Type::kString) {
      auto parsed = ParseIso8601(t->str());
      if (!parsed.ok()) {
        row.error = StrCat("field ", Quote(o_.time_field), ": ", parsed.status().message());
        return true;
      }
      row.time = *parsed;
    } else if (t->type() == JsonValue::Type::kNumber) {
      if (!EpochMillisFromText(t->raw(), row.time)) {
        row.error = StrCat("field ", Quote(o_.time_field), ": ", Quote(t->raw(), 40),
                           " is not epoch milliseconds between years 1 and 9999");
        return true;
      }
    } else {
      row.error = StrCat("field ", Quote(o_.time_field),
                         ": expected an ISO-8601 string or epoch milliseconds, got ",
                         JsonValue::Describe(t->type()));
      return true;
    }
    const JsonValue* label = doc_.Find(o_.label_field);
    if (label == nullptr) {
      row.error = StrCat("no label (field ", Quote(o_.label_field), ")");
      return true;
    }
    if (label->is_null()) {
      row.label.SetNull();
    } else if (label->type() == JsonValue::Type::kString) {
      row.label.Set(Cell::Kind::kString, label->str());
    } else {
      row.label.Set(Cell::Kind::kJson, label->raw());
    }
    return true;
  }

  std::optional<bool> id_column() const override { return id_column_; }
  const std::string& path() const override { return lines_->path(); }

 private:
  std::unique_ptr<LineReader> lines_;
  const TrainingSetOptions& o_;
  std::string line_;
  JsonValue doc_;
  std::optional<bool> id_column_;
};

class CsvLabels : public LabelSource {
 public:
  static Result<std::unique_ptr<CsvLabels>> Open(const TrainingSetOptions& o) {
    EDDY_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(o.labels_path));
    std::unique_ptr<CsvLabels> l(new CsvLabels(std::move(reader), o));
    CsvRecord header;
    EDDY_ASSIGN_OR_RETURN(bool any, l->reader_->Next(header));
    if (!any) return Status::InvalidArgument(StrCat(o.labels_path, ": empty (no header row)"));
    auto where = [&] { return StrCat(o.labels_path, ":", header.line, ": "); };
    if (!header.error.empty()) return Status::InvalidArgument(StrCat(where(), header.error));
    for (size_t i = 0; i < header.cells.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (header.cells[i] == header.cells[j]) {
          return Status::InvalidArgument(
              StrCat(where(), "the header names column ", Quote(header.cells[i]), " twice"));
        }
      }
    }
    l->width_ = header.cells.size();
    auto column = [&](const std::string& name, bool required, int& out) -> Status {
      auto it = std::find(header.cells.begin(), header.cells.end(), name);
      if (it != header.cells.end()) {
        out = static_cast<int>(it - header.cells.begin());
      } else if (required) {
        return Status::InvalidArgument(StrCat(where(), "the header has no column ", Quote(name),
                                              " (columns: ", StrJoin(header.cells, ", ", true),
                                              ")"));
      }
      return Status::OK();
    };
    EDDY_RETURN_IF_ERROR(column(o.key_field, true, l->key_));
    EDDY_RETURN_IF_ERROR(column(o.time_field, true, l->time_));
    EDDY_RETURN_IF_ERROR(column(o.label_field, true, l->label_));
    if (!o.id_field.empty()) EDDY_RETURN_IF_ERROR(column(o.id_field, false, l->id_));
    l->group_key_.assign(o.group_key_fields.size(), -1);
    for (size_t g = 0; g < o.group_key_fields.size(); ++g) {
      if (!o.group_key_fields[g].empty()) {
        EDDY_RETURN_IF_ERROR(column(o.group_key_fields[g], true, l->group_key_[g]));
      }
    }
    return l;
  }

  Result<bool> Next(LabelRow& row) override {
    EDDY_ASSIGN_OR_RETURN(bool more, reader_->Next(record_));
    if (!more) return false;
    row = LabelRow();
    row.line = record_.line;
    if (!record_.error.empty()) {
      row.error = record_.error;
      return true;
    }
    if (record_.cells.size() != width_) {
      row.error = StrCat("has ", record_.cells.size(), " cells; the header has ", width_);
      return true;
    }
    for (const std::string& c : record_.cells) {
      if (!IsValidUtf8(c)) {
        row.error = "not UTF-8";
        return true;
      }
    }
    // An unquoted empty cell is null; a quoted one ("") the empty string.
    auto is_null = [&](int i) {
      return record_.cells[static_cast<size_t>(i)].empty() &&
             !record_.quoted[static_cast<size_t>(i)];
    };
    if (id_ >= 0) {
      row.has_id = true;
      if (is_null(id_)) {
        row.id.SetNull();
      } else {
        row.id.Set(Cell::Kind::kString, record_.cells[static_cast<size_t>(id_)]);
      }
    }
    if (is_null(key_)) {
      row.error = StrCat("no key (column ", Quote(o_.key_field), ")");
      return true;
    }
    row.key = record_.cells[static_cast<size_t>(key_)];
    row.group_keys.assign(group_key_.size(), "");
    for (size_t g = 0; g < group_key_.size(); ++g) {
      if (group_key_[g] >= 0 && !is_null(group_key_[g])) {
        row.group_keys[g] = record_.cells[static_cast<size_t>(group_key_[g])];
      }
    }
    if (is_null(time_)) {
      row.error = StrCat("no timestamp (column ", Quote(o_.time_field), ")");
      return true;
    }
    const std::string& t = record_.cells[static_cast<size_t>(time_)];
    if (!record_.quoted[static_cast<size_t>(time_)] && IsJsonNumber(t)) {
      if (!EpochMillisFromText(t, row.time)) {
        row.error = StrCat("column ", Quote(o_.time_field), ": ", Quote(t, 40),
                           " is not epoch milliseconds between years 1 and 9999");
        return true;
      }
    } else {
      auto parsed = ParseIso8601(t);
      if (!parsed.ok()) {
        row.error = StrCat("column ", Quote(o_.time_field), ": ", parsed.status().message());
        return true;
      }
      row.time = *parsed;
    }
    // Labels: numbers and booleans stay numbers and booleans in JSON output.
    const std::string& label = record_.cells[static_cast<size_t>(label_)];
    if (is_null(label_)) {
      row.label.SetNull();
    } else if (!record_.quoted[static_cast<size_t>(label_)] &&
               (IsJsonNumber(label) || label == "true" || label == "false")) {
      row.label.Set(Cell::Kind::kJson, label);
    } else {
      row.label.Set(Cell::Kind::kString, label);
    }
    return true;
  }

  std::optional<bool> id_column() const override { return id_ >= 0; }
  const std::string& path() const override { return reader_->path(); }

 private:
  CsvLabels(std::unique_ptr<CsvReader> r, const TrainingSetOptions& o)
      : reader_(std::move(r)), o_(o) {}
  std::unique_ptr<CsvReader> reader_;
  const TrainingSetOptions& o_;
  CsvRecord record_;
  size_t width_ = 0;
  int key_ = -1, time_ = -1, label_ = -1, id_ = -1;
  std::vector<int> group_key_;  // column per group with its own key field
};

}  // namespace

Result<TrainingSetStats> BuildTrainingSet(const HistoryReader& history,
                                          const TrainingSetOptions& o) {
  // Options.
  if (o.labels_format != "jsonl" && o.labels_format != "csv") {
    return BadOption(StrCat("labels format ", Quote(o.labels_format), ": expected jsonl or csv"));
  }
  if (o.output_format != "jsonl" && o.output_format != "csv") {
    return BadOption(StrCat("output format ", Quote(o.output_format), ": expected csv or jsonl"));
  }
  if (o.labels_path.empty()) return BadOption("a training set needs a labels file");
  if (o.output_path.empty()) return BadOption("a training set needs an output path");
  if (o.key_field.empty() || o.time_field.empty() || o.label_field.empty()) {
    return BadOption("the key, time and label field names must not be empty");
  }
  {
    std::vector<std::string> fields = {o.key_field, o.time_field, o.label_field};
    if (!o.id_field.empty()) fields.push_back(o.id_field);
    for (size_t i = 0; i < fields.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (fields[i] == fields[j]) {
          return BadOption(StrCat("the key, time, label and id fields must differ: ",
                                  Quote(fields[i]), " is given twice"));
        }
      }
    }
  }
  const std::vector<HistoryGroup>& all = history.groups();
  std::vector<size_t> groups;
  if (o.groups.empty()) {
    for (size_t g = 0; g < all.size(); ++g) groups.push_back(g);
  } else {
    std::vector<std::string> names;
    for (const HistoryGroup& h : all) names.push_back(h.name);
    for (const std::string& name : o.groups) {
      int g = history.FindGroup(name);
      if (g < 0) {
        std::string hint = SuggestName(name, names);
        return Status::NotFound(
            StrCat("history ", history.dir(), " has no feature group ", Quote(name),
                   hint.empty() ? "" : StrCat(" (did you mean ", Quote(hint), "?)"), "; it has ",
                   StrJoin(names, ", ", true)));
      }
      if (std::find(groups.begin(), groups.end(), static_cast<size_t>(g)) != groups.end()) {
        return BadOption(StrCat("feature group ", Quote(name), " is requested twice"));
      }
      groups.push_back(static_cast<size_t>(g));
    }
  }
  std::vector<Duration> ttls = o.ttls;
  if (ttls.empty()) ttls.assign(groups.size(), Duration::Infinite());
  if (ttls.size() != groups.size()) {
    return BadOption(StrCat(ttls.size(), " TTLs for ", groups.size(), " feature groups"));
  }
  for (size_t i = 0; i < ttls.size(); ++i) {
    if (ttls[i] < Duration::Zero()) {
      return BadOption(StrCat("the TTL of group ", Quote(all[groups[i]].name), " is negative"));
    }
  }

  // Open the labels first: a missing file should not wait for the index.
  std::unique_ptr<LabelSource> labels;
  if (o.labels_format == "csv") {
    EDDY_ASSIGN_OR_RETURN(labels, CsvLabels::Open(o));
  } else {
    EDDY_ASSIGN_OR_RETURN(auto lines, LineReader::Open(o.labels_path));
    labels = std::make_unique<JsonlLabels>(std::move(lines), o);
  }

  // Index the requested groups' history.
  std::vector<int> slot(all.size(), -1);  // history group -> index in `indexes`
  for (size_t i = 0; i < groups.size(); ++i) slot[groups[i]] = static_cast<int>(i);
  std::vector<GroupIndex> indexes(groups.size());
  uint64_t seq = 0;
  EDDY_RETURN_IF_ERROR(history.ScanRecords([&](const HistoryRecord& r) {
    int s = slot[r.group];
    if (s >= 0) indexes[static_cast<size_t>(s)].Add(r.key, r, seq);
    ++seq;
    return Status::OK();
  }));
  for (GroupIndex& index : indexes) index.Finish();

  // Output columns: the label's, then each group's features, named
  // "<group>.<feature>" when the name alone would be ambiguous.
  std::vector<std::string> label_names = {o.key_field, o.time_field, o.label_field};
  if (!o.id_field.empty()) label_names.push_back(o.id_field);
  std::vector<std::vector<std::string>> feature_columns(groups.size());
  std::vector<std::string> used = label_names;
  for (size_t i = 0; i < groups.size(); ++i) {
    for (const std::string& f : all[groups[i]].feature_names) {
      bool clash = std::find(label_names.begin(), label_names.end(), f) != label_names.end();
      for (size_t j = 0; j < groups.size() && !clash; ++j) {
        if (j == i) continue;
        const auto& other = all[groups[j]].feature_names;
        clash = std::find(other.begin(), other.end(), f) != other.end();
      }
      std::string name = clash ? StrCat(all[groups[i]].name, ".", f) : f;
      if (std::find(used.begin(), used.end(), name) != used.end()) {
        return BadOption(StrCat("two output columns would be called ", Quote(name),
                                "; rename a feature or a label field"));
      }
      used.push_back(name);
      feature_columns[i].push_back(std::move(name));
    }
  }

  EDDY_ASSIGN_OR_RETURN(auto out, OutputFile::Create(o.output_path));
  const bool csv = o.output_format == "csv";
  bool header_written = false;
  bool with_id = false;
  auto write_header = [&](bool id) {
    header_written = true;
    with_id = id;
    if (!csv) return;
    std::string& b = out->buffer();
    if (with_id) {
      AppendCsvText(b, o.id_field);
      b.push_back(',');
    }
    AppendCsvText(b, o.key_field);
    b.push_back(',');
    AppendCsvText(b, o.time_field);
    b.push_back(',');
    AppendCsvText(b, o.label_field);
    for (const auto& cols : feature_columns) {
      for (const std::string& c : cols) {
        b.push_back(',');
        AppendCsvText(b, c);
      }
    }
    b.push_back('\n');
  };

  TrainingSetStats stats;
  LabelRow row;
  StoredVector found;
  std::vector<std::string> json_keys;  // feature column names, JSON-escaped once
  for (const auto& cols : feature_columns) {
    for (const std::string& c : cols) {
      std::string k;
      AppendJsonString(k, c);
      json_keys.push_back(std::move(k));
    }
  }
  while (true) {
    EDDY_ASSIGN_OR_RETURN(bool more, labels->Next(row));
    if (!more) break;
    ++stats.labels;
    if (!header_written && labels->id_column().has_value()) write_header(*labels->id_column());
    if (!row.error.empty()) {
      ++stats.bad_labels;
      if (stats.bad_label_examples.size() < kMaxBadExamples) {
        stats.bad_label_examples.push_back(StrCat(labels->path(), ":", row.line, ": ", row.error));
      }
      continue;
    }
    std::string& b = out->buffer();
    if (csv) {
      if (with_id) {
        AppendCellCsv(b, row.id);
        b.push_back(',');
      }
      AppendCsvText(b, row.key);
      b.push_back(',');
      AppendIso8601(b, row.time);
      b.push_back(',');
      AppendCellCsv(b, row.label);
    } else {
      b.push_back('{');
      if (with_id) {
        AppendJsonString(b, o.id_field);
        b.push_back(':');
        AppendCellJson(b, row.id);
        b.push_back(',');
      }
      AppendJsonString(b, o.key_field);
      b.push_back(':');
      AppendJsonString(b, row.key);
      b.push_back(',');
      AppendJsonString(b, o.time_field);
      b.append(":\"");
      AppendIso8601(b, row.time);
      b.append("\",");
      AppendJsonString(b, o.label_field);
      b.push_back(':');
      AppendCellJson(b, row.label);
    }
    size_t column = 0;
    for (size_t i = 0; i < groups.size(); ++i) {
      const bool own_key = i < o.group_key_fields.size() && !o.group_key_fields[i].empty();
      const Entry* e =
          own_key && row.group_keys[i].empty()
              ? nullptr
              : indexes[i].Find(own_key ? row.group_keys[i] : row.key, row.time, ttls[i]);
      const size_t width = feature_columns[i].size();
      if (e != nullptr) {
        ++stats.feature_hits;
        auto v = DecodeStoredVector(indexes[i].Encoded(*e));
        if (!v.ok()) return v.status();  // decoded once already while indexing
        found = std::move(v).value();
        for (const FeatureValue& fv : found.values) {
          if (!store_internal::FeatureValueIsUtf8(fv)) {
            return Status::InvalidArgument(StrCat("history ", history.dir(), ": a value of group ",
                                                  Quote(all[groups[i]].name), " for key ",
                                                  Quote(row.key), " is not UTF-8"));
          }
        }
      } else {
        ++stats.feature_misses;
      }
      for (size_t f = 0; f < width; ++f, ++column) {
        const FeatureValue* value = e != nullptr ? &found.values[f] : nullptr;
        if (csv) {
          b.push_back(',');
          if (value != nullptr) AppendCsvValue(b, *value);
        } else {
          b.push_back(',');
          b.append(json_keys[column]);
          b.push_back(':');
          if (value != nullptr) {
            value->AppendJson(b);
          } else {
            b.append("null");
          }
        }
      }
    }
    if (!csv) b.push_back('}');
    b.push_back('\n');
    ++stats.rows;
    EDDY_RETURN_IF_ERROR(out->MaybeWrite());
  }
  if (!header_written) write_header(labels->id_column().value_or(false));
  EDDY_RETURN_IF_ERROR(out->Commit());
  return stats;
}

}  // namespace eddy
