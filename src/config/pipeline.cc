// Loads pipeline files. yaml-cpp enters Eddy here and only here; its
// exceptions are caught in this file and become Status.

#include "config/pipeline.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/strings.h"
#include "config/options.h"

namespace eddy {

std::string ConfigLocation::ToString() const {
  if (line <= 0) return file;
  return StrCat(file, ":", line, ":", column);
}

int SourceSpec::FieldIndex(std::string_view field) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field) return static_cast<int>(i);
  }
  return -1;
}

const SourceSpec* PipelineSpec::FindSource(std::string_view source_name) const {
  for (const SourceSpec& s : sources) {
    if (s.name == source_name) return &s;
  }
  return nullptr;
}

namespace {

// Collects every problem found, each with its location.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  ConfigLocation At(const YAML::Node& node) const {
    YAML::Mark m = node.Mark();
    if (m.line < 0) return ConfigLocation{file_, 0, 0};
    return ConfigLocation{file_, m.line + 1, m.column + 1};
  }
  void Error(const ConfigLocation& where, std::string msg) {
    errors_.push_back(StrCat(where.ToString(), ": ", msg));
  }
  void Error(const YAML::Node& node, std::string msg) { Error(At(node), std::move(msg)); }
  // `where` is a location already formatted as "file:line:column".
  void ErrorAt(std::string_view where, std::string_view msg) {
    errors_.push_back(StrCat(where, ": ", msg));
  }
  bool ok() const { return errors_.empty(); }
  Status ToStatus() const {
    std::string msg;
    for (size_t i = 0; i < errors_.size(); ++i) {
      if (i > 0) msg += "\n";
      msg += errors_[i];
    }
    return Status::InvalidArgument(msg);
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

std::string_view NodeKind(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return "a scalar";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "something else";
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  std::string_view s = Trim(text);
  size_t pos = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  if (pos == 0) {
    return Status::InvalidArgument(
        StrCat("bad byte size ", Quote(s), ": expected a number of bytes or e.g. 64KiB, 16MiB"));
  }
  uint64_t n = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (n > (UINT64_MAX - 9) / 10)
      return Status::OutOfRange(StrCat("byte size ", Quote(s), " is too large"));
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  std::string_view unit = Trim(s.substr(pos));
  uint64_t mult;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB" || unit == "KB" || unit == "K") {
    mult = unit == "KB" ? 1000 : 1024;
  } else if (unit == "MiB" || unit == "MB" || unit == "M") {
    mult = unit == "MB" ? 1000000 : 1024 * 1024;
  } else if (unit == "GiB" || unit == "GB" || unit == "G") {
    mult = unit == "GB" ? 1000000000ULL : 1024ULL * 1024 * 1024;
  } else {
    return Status::InvalidArgument(StrCat("unknown unit ", Quote(unit), " in byte size ", Quote(s),
                                          "; units are B, KiB, MiB, GiB, KB, MB, GB"));
  }
  if (n > UINT64_MAX / mult)
    return Status::OutOfRange(StrCat("byte size ", Quote(s), " is too large"));
  return n * mult;
}

// Reads one map-valued section through its SectionSpec. Every getter returns
// the default from the table when the key is absent, and records an error
// (returning the default) when the value is malformed.
class SectionReader {
 public:
  SectionReader(const YAML::Node& node, const SectionSpec& spec, Diagnostics& diags,
                std::string context)
      : node_(node), spec_(spec), diags_(diags), context_(std::move(context)) {
    valid_ = node_.IsMap();
    if (!valid_) {
      diags_.Error(node_, StrCat(context_, ": expected a map of options, got ", NodeKind(node_)));
      return;
    }
    std::set<std::string> seen;
    std::vector<std::string> known;
    for (const OptionSpec& o : spec_.options) known.emplace_back(o.key);
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      // A copy (a Node is a handle): `it->first` lives in a temporary proxy
      // that is gone after this statement, so a reference to it dangles.
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        diags_.Error(key, StrCat(context_, ": keys must be plain names"));
        continue;
      }
      const std::string& k = key.Scalar();
      if (!seen.insert(k).second) {
        diags_.Error(key, StrCat(context_, ": duplicate key ", Quote(k)));
      }
      if (spec_.FindOption(k) == nullptr) {
        std::string msg = StrCat(context_, ": unknown key ", Quote(k));
        std::string suggestion = SuggestName(k, known);
        if (!suggestion.empty()) {
          StrAppend(msg, " (did you mean ", Quote(suggestion), "?)");
        } else {
          StrAppend(msg, "; known keys: ", StrJoin(known, ", "));
        }
        diags_.Error(key, msg);
      }
    }
  }

  bool valid() const { return valid_; }
  const std::string& context() const { return context_; }
  ConfigLocation where() const { return diags_.At(node_); }

  // The value node for `key`, or an undefined node. Reports a missing
  // required key.
  YAML::Node Get(std::string_view key) {
    const OptionSpec& o = spec_.Option(key);
    if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node v = node_[std::string(key)];
    if ((!v.IsDefined() || v.IsNull()) && o.required) {
      diags_.Error(node_, StrCat(context_, ": missing required key ", Quote(key), " (",
                                 OptionTypeName(o.type), ")"));
    }
    return v;
  }

  bool Has(std::string_view key) {
    if (!valid_) return false;
    YAML::Node v = node_[std::string(key)];
    return v.IsDefined() && !v.IsNull();
  }

  ConfigLocation WhereOf(std::string_view key) {
    YAML::Node v = valid_ ? node_[std::string(key)] : YAML::Node();
    return v.IsDefined() ? diags_.At(v) : where();
  }

  // The scalar text for `key`, or the table default.
  std::optional<std::string> Scalar(std::string_view key) {
    YAML::Node v = Get(key);
    if (!v.IsDefined() || v.IsNull()) {
      const OptionSpec& o = spec_.Option(key);
      if (o.default_value.empty()) return std::nullopt;
      return std::string(o.default_value);
    }
    if (!v.IsScalar()) {
      diags_.Error(v, StrCat(context_, ".", key, ": expected ",
                             OptionTypeName(spec_.Option(key).type), ", got ", NodeKind(v)));
      return std::nullopt;
    }
    return v.Scalar();
  }

  std::string String(std::string_view key) { return Scalar(key).value_or(""); }

  int64_t Int(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return 0;
    int64_t v = 0;
    auto r = std::from_chars(s->data(), s->data() + s->size(), v);
    if (r.ec != std::errc() || r.ptr != s->data() + s->size()) {
      Bad(key, StrCat("expected an integer, got ", Quote(*s)));
      return 0;
    }
    return v;
  }

  std::optional<double> Number(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s->c_str(), &end);
    if (s->empty() || end != s->c_str() + s->size() || !std::isfinite(v)) {
      Bad(key, StrCat("expected a finite number, got ", Quote(*s)));
      return std::nullopt;
    }
    return v;
  }

  bool Bool(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return false;
    if (*s == "true" || *s == "yes" || *s == "on") return true;
    if (*s == "false" || *s == "no" || *s == "off") return false;
    Bad(key, StrCat("expected true or false, got ", Quote(*s)));
    return false;
  }

  Duration GetDuration(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return Duration::Zero();
    auto d = ParseDuration(*s);
    if (!d.ok()) {
      Bad(key, d.status().message());
      return Duration::Zero();
    }
    return *d;
  }

  // The byte size for `key`, or nullopt after reporting an error.
  std::optional<uint64_t> Bytes(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return std::nullopt;
    auto b = ParseByteSize(*s);
    if (!b.ok()) {
      Bad(key, b.status().message());
      return std::nullopt;
    }
    return *b;
  }

  // Returns the chosen value (one of the declared choices), or "" after
  // reporting an error.
  std::string Enum(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return "";
    std::vector<std::string> choices;
    std::string_view c = spec_.Option(key).choices;
    while (!c.empty()) {
      size_t bar = c.find('|');
      choices.emplace_back(c.substr(0, bar));
      c = bar == std::string_view::npos ? "" : c.substr(bar + 1);
    }
    for (const auto& choice : choices) {
      if (choice == *s) return choice;
    }
    std::string msg = StrCat("expected one of ", StrJoin(choices, ", "), "; got ", Quote(*s));
    std::string suggestion = SuggestName(*s, choices);
    if (!suggestion.empty()) StrAppend(msg, " (did you mean ", Quote(suggestion), "?)");
    Bad(key, msg);
    return "";
  }

  char Char(std::string_view key) {
    auto s = Scalar(key);
    if (!s) return 0;
    if (*s == "\\t") return '\t';
    if (s->size() != 1) {
      Bad(key, StrCat("expected a single character, got ", Quote(*s)));
      return 0;
    }
    return (*s)[0];
  }

  // Resolves relative paths against `base_dir`; keeps "-" and "stderr".
  std::string Path(std::string_view key, const std::string& base_dir) {
    auto s = Scalar(key);
    if (!s) return "";
    if (s->empty()) {
      Bad(key, "expected a path, got an empty string");
      return "";
    }
    if (*s == "-" || *s == "stderr") return *s;
    if (*s == "stdin" || *s == "stdout") return "-";  // readable aliases of "-"
    std::filesystem::path p(*s);
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    return p.lexically_normal().string();
  }

  // An output: a path, or a map {path, format}.
  OutputSpec Output(std::string_view key, const std::string& base_dir) {
    OutputSpec out;
    YAML::Node v = Get(key);
    if (!v.IsDefined() || v.IsNull()) return out;
    if (v.IsMap()) {
      SectionReader o(v, Section("output"), diags_, StrCat(context_, ".", key));
      out.path = o.Path("path", base_dir);
      std::string fmt = o.Enum("format");
      if (!fmt.empty()) out.format = fmt;
      return out;
    }
    out.path = Path(key, base_dir);
    return out;
  }

  // A string or a list of strings.
  std::vector<std::string> StringList(std::string_view key) {
    YAML::Node v = Get(key);
    std::vector<std::string> out;
    if (!v.IsDefined() || v.IsNull()) return out;
    if (v.IsScalar()) {
      out.push_back(v.Scalar());
      return out;
    }
    if (!v.IsSequence()) {
      Bad(key, StrCat("expected a string or a list of strings, got ", NodeKind(v)));
      return out;
    }
    for (const auto& item : v) {
      if (!item.IsScalar()) {
        diags_.Error(item, StrCat(context_, ".", key, ": list items must be strings"));
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  // A list whose items are sections; calls `fn(item, index)` for each.
  // Returns true when `key` holds a list (even an empty one); false when it is
  // absent or, after reporting an error, not a list.
  template <typename Fn>
  bool ForEachItem(std::string_view key, Fn fn) {
    YAML::Node v = Get(key);
    if (!v.IsDefined() || v.IsNull()) return false;
    if (!v.IsSequence()) {
      Bad(key, StrCat("expected a list, got ", NodeKind(v)));
      return false;
    }
    size_t i = 0;
    for (const auto& item : v) fn(item, i++);
    return true;
  }

  void Bad(std::string_view key, std::string_view msg) {
    YAML::Node v = valid_ ? node_[std::string(key)] : YAML::Node();
    diags_.Error(v.IsDefined() ? diags_.At(v) : where(), StrCat(context_, ".", key, ": ", msg));
  }

 private:
  YAML::Node node_;
  const SectionSpec& spec_;
  Diagnostics& diags_;
  std::string context_;
  bool valid_ = false;
};

bool IsIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

struct ReadFieldResult {
  FieldSpec field;
  // False when the type is missing or misspelt (already reported): checks
  // that depend on the type are skipped rather than reported against the
  // default type.
  bool type_known = false;
};

ReadFieldResult ReadField(const YAML::Node& node, Diagnostics& diags, const std::string& ctx) {
  ReadFieldResult result;
  FieldSpec& f = result.field;
  SectionReader r(node, Section("field"), diags, ctx);
  f.where = r.where();
  if (!r.valid()) return result;
  f.name = r.String("name");
  std::string type = r.Enum("type");
  result.type_known = !type.empty();
  if (type == "string") f.type = FieldType::kString;
  if (type == "int") f.type = FieldType::kInt;
  if (type == "double") f.type = FieldType::kDouble;
  if (type == "bool") f.type = FieldType::kBool;
  if (type == "timestamp") f.type = FieldType::kTimestamp;
  f.required = r.Bool("required");
  std::string fmt = r.Enum("format");
  if (fmt == "epoch_seconds") f.timestamp_format = TimestampFormat::kEpochSeconds;
  if (fmt == "epoch_millis") f.timestamp_format = TimestampFormat::kEpochMillis;
  if (result.type_known && r.Has("format") && f.type != FieldType::kTimestamp) {
    r.Bad("format", StrCat("only timestamp fields have a format; ", Quote(f.name), " is ", type));
  }
  f.min = r.Number("min");
  f.max = r.Number("max");
  bool numeric = f.type == FieldType::kInt || f.type == FieldType::kDouble;
  if (result.type_known && (r.Has("min") || r.Has("max")) && !numeric) {
    r.Bad(r.Has("min") ? "min" : "max",
          StrCat("min and max apply to int and double fields; ", Quote(f.name), " is ", type));
  }
  if (f.min && f.max && *f.min > *f.max) {
    r.Bad("min", StrCat("min ", *f.min, " is greater than max ", *f.max));
  }
  YAML::Node allowed = r.Get("allowed");
  if (result.type_known && allowed.IsDefined() && !allowed.IsNull()) {
    if (f.type != FieldType::kString && f.type != FieldType::kInt) {
      r.Bad("allowed",
            StrCat("allowed values apply to string and int fields; ", Quote(f.name), " is ", type));
    } else if (!allowed.IsSequence() || allowed.size() == 0) {
      r.Bad("allowed", "expected a non-empty list of values");
    } else {
      for (const auto& item : allowed) {
        if (!item.IsScalar()) {
          diags.Error(item, StrCat(ctx, ".allowed: items must be scalars"));
          continue;
        }
        if (f.type == FieldType::kInt) {
          int64_t v;
          const std::string& s = item.Scalar();
          auto res = std::from_chars(s.data(), s.data() + s.size(), v);
          if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
            diags.Error(item, StrCat(ctx, ".allowed: ", Quote(s), " is not an int"));
            continue;
          }
        }
        f.allowed.push_back(item.Scalar());
      }
    }
  }
  return result;
}

SourceSpec ReadSource(const YAML::Node& node, size_t index, Diagnostics& diags,
                      const std::string& base_dir) {
  SourceSpec s;
  std::string ctx = StrCat("sources[", index, "]");
  if (node.IsMap() && node["name"].IsDefined() && node["name"].IsScalar()) {
    ctx = StrCat("source ", Quote(node["name"].Scalar()));
  }
  SectionReader r(node, Section("source"), diags, ctx);
  s.where = r.where();
  if (!r.valid()) return s;
  s.name = r.String("name");
  if (r.Has("name") && !IsIdentifier(s.name)) {
    r.Bad("name", StrCat(Quote(s.name), " is not a valid name (letters, digits, underscores)"));
  }
  std::string fmt = r.Enum("format");
  s.format = fmt == "csv" ? SourceFormat::kCsv : SourceFormat::kJsonLines;
  s.http = r.Enum("type") == "http";
  if (s.http && s.format != SourceFormat::kJsonLines) {
    r.Bad("format", "an http source takes JSON records (format: jsonl)");
  }
  s.path = r.Path("path", base_dir);
  if (s.path == "stderr") r.Bad("path", "a source cannot read from stderr");

  // Schema.
  std::set<std::string> untyped;  // fields whose type is missing or misspelt
  YAML::Node schema = r.Get("schema");
  if (schema.IsDefined() && !schema.IsNull()) {
    SectionReader sr(schema, Section("schema"), diags, StrCat(ctx, ".schema"));
    if (sr.valid()) {
      bool is_list = sr.ForEachItem("fields", [&](const YAML::Node& item, size_t i) {
        ReadFieldResult f = ReadField(item, diags, StrCat(ctx, ".schema.fields[", i, "]"));
        if (!f.type_known) untyped.insert(f.field.name);
        s.fields.push_back(std::move(f.field));
      });
      if (is_list && s.fields.empty()) {
        sr.Bad("fields", "a schema needs at least one field");
      }
      s.unknown_fields = sr.Enum("unknown_fields") == "reject" ? UnknownFieldPolicy::kReject
                                                               : UnknownFieldPolicy::kIgnore;
    }
  }
  std::set<std::string> names;
  for (const FieldSpec& f : s.fields) {
    if (!f.name.empty() && !names.insert(f.name).second) {
      diags.Error(f.where, StrCat(ctx, ": field ", Quote(f.name), " is declared twice"));
    }
  }
  std::vector<std::string> field_names(names.begin(), names.end());
  auto unknown_field = [&](std::string_view key, const std::string& name) {
    std::string msg = StrCat("unknown field ", Quote(name), " (not in the schema");
    std::string suggestion = SuggestName(name, field_names);
    if (!suggestion.empty()) StrAppend(msg, "; did you mean ", Quote(suggestion), "?");
    msg += ")";
    r.Bad(key, msg);
  };

  s.event_time_field = r.String("event_time");
  if (!s.event_time_field.empty() && !s.fields.empty()) {
    int idx = s.FieldIndex(s.event_time_field);
    if (idx < 0) {
      unknown_field("event_time", s.event_time_field);
    } else if (s.fields[idx].type != FieldType::kTimestamp &&
               !untyped.contains(s.event_time_field)) {
      r.Bad("event_time", StrCat("field ", Quote(s.event_time_field), " is ",
                                 FieldTypeName(s.fields[idx].type), "; it must be a timestamp"));
    }
  }
  s.key_fields = r.StringList("key");
  for (const auto& k : s.key_fields) {
    if (!s.fields.empty() && s.FieldIndex(k) < 0) unknown_field("key", k);
  }
  s.id_field = r.String("id");
  if (!s.id_field.empty() && !s.fields.empty() && s.FieldIndex(s.id_field) < 0) {
    unknown_field("id", s.id_field);
  }

  // Watermark: defaults come from the table even when the section is absent.
  YAML::Node wm = node["watermark"];
  YAML::Node wm_node = wm.IsDefined() && !wm.IsNull() ? wm : YAML::Node(YAML::NodeType::Map);
  SectionReader wr(wm_node, Section("watermark"), diags, StrCat(ctx, ".watermark"));
  s.watermark.max_out_of_orderness = wr.GetDuration("max_out_of_orderness");
  s.watermark.allowed_lateness = wr.GetDuration("allowed_lateness");
  s.watermark.idle_timeout = wr.GetDuration("idle_timeout");

  s.filter = r.String("filter");
  s.filter_where = r.WhereOf("filter");
  std::optional<uint64_t> max_record_bytes = r.Bytes("max_record_bytes");
  s.max_record_bytes = max_record_bytes.value_or(0);
  if (max_record_bytes && *max_record_bytes == 0) {
    r.Bad("max_record_bytes", "must be at least 1 byte");
  }

  YAML::Node csv = node["csv"];
  if (csv.IsDefined() && !csv.IsNull() && s.format != SourceFormat::kCsv) {
    r.Bad("csv", "a csv section needs format: csv");
  }
  YAML::Node csv_node = csv.IsDefined() && !csv.IsNull() ? csv : YAML::Node(YAML::NodeType::Map);
  SectionReader cr(csv_node, Section("csv"), diags, StrCat(ctx, ".csv"));
  s.csv.delimiter = cr.Char("delimiter");
  s.csv.quote = cr.Char("quote");
  if (s.csv.delimiter == s.csv.quote || s.csv.delimiter == '\n' || s.csv.quote == '\n') {
    cr.Bad("delimiter", "delimiter and quote must differ and must not be a newline");
  }
  return s;
}

AggKind ParseAggKind(const std::string& fn) {
  static const std::pair<const char*, AggKind> kKinds[] = {
      {"count", AggKind::kCount},       {"sum", AggKind::kSum},
      {"mean", AggKind::kMean},         {"min", AggKind::kMin},
      {"max", AggKind::kMax},           {"variance", AggKind::kVariance},
      {"stddev", AggKind::kStddev},     {"count_distinct", AggKind::kCountDistinct},
      {"quantile", AggKind::kQuantile}, {"last", AggKind::kLast},
      {"top_k", AggKind::kTopK},        {"decayed_sum", AggKind::kDecayedSum}};
  for (const auto& [name, kind] : kKinds) {
    if (fn == name) return kind;
  }
  return AggKind::kCount;
}

FeatureGroupSpec ReadFeatureGroup(const YAML::Node& node, size_t index, Diagnostics& diags,
                                  const std::string& base_dir) {
  FeatureGroupSpec g;
  std::string ctx = StrCat("features[", index, "]");
  if (node.IsMap() && node["name"].IsDefined() && node["name"].IsScalar()) {
    ctx = StrCat("feature group ", Quote(node["name"].Scalar()));
  }
  SectionReader r(node, Section("feature"), diags, ctx);
  g.where = r.where().ToString();
  if (!r.valid()) return g;
  g.name = r.String("name");
  if (r.Has("name") && !IsIdentifier(g.name)) {
    r.Bad("name", StrCat(Quote(g.name), " is not a valid name (letters, digits, underscores)"));
  }
  g.source = r.String("source");
  g.key = r.StringList("key");

  YAML::Node window = r.Get("window");
  if (window.IsDefined() && !window.IsNull()) {
    SectionReader w(window, Section("window"), diags, StrCat(ctx, ".window"));
    if (w.valid()) {
      std::string type = w.Enum("type");
      g.window.size = w.GetDuration("size");
      g.window.slide = w.GetDuration("slide");
      g.window.gap = w.GetDuration("gap");
      auto need = [&](std::string_view key, bool needed) {
        if (needed && !w.Has(key)) {
          w.Bad(key, StrCat("a ", type, " window needs `", key, "`"));
        } else if (!needed && w.Has(key)) {
          w.Bad(key, StrCat("a ", type, " window has no `", key, "`"));
        }
      };
      if (type == "tumbling") {
        g.window.kind = WindowKind::kTumbling;
        need("size", true), need("slide", false), need("gap", false);
      } else if (type == "hopping") {
        g.window.kind = WindowKind::kHopping;
        need("size", true), need("slide", true), need("gap", false);
      } else if (type == "session") {
        g.window.kind = WindowKind::kSession;
        need("size", false), need("slide", false), need("gap", true);
      }
    }
  }
  const bool emitted = g.window.kind != WindowKind::kAsOf;

  YAML::Node table = r.Get("table");
  if (table.IsDefined() && !table.IsNull()) {
    g.table = true;
    SectionReader t(table, Section("table"), diags, StrCat(ctx, ".table"));
    if (t.valid()) g.table_fields = t.StringList("fields");
    for (std::string_view other : {"window", "aggregations", "join", "derived", "output"}) {
      if (r.Has(other)) r.Bad(other, "a table group keeps fields; it has no " + std::string(other));
    }
  }

  r.ForEachItem("aggregations", [&](const YAML::Node& item, size_t i) {
    AggregationSpec a;
    std::string actx = StrCat(ctx, ".aggregations[", i, "]");
    if (item.IsMap() && item["name"].IsDefined() && item["name"].IsScalar()) {
      actx = StrCat(ctx, ", aggregation ", Quote(item["name"].Scalar()));
    }
    SectionReader ar(item, Section("aggregation"), diags, actx);
    a.where = ar.where().ToString();
    if (!ar.valid()) return;
    a.name = ar.String("name");
    if (ar.Has("name") && !IsIdentifier(a.name)) {
      ar.Bad("name", StrCat(Quote(a.name), " is not a valid name (letters, digits, underscores)"));
    }
    std::string fn = ar.Enum("fn");
    a.kind = ParseAggKind(fn);
    a.field = ar.String("field");
    if (!fn.empty() && a.kind != AggKind::kCount && a.field.empty()) {
      ar.Bad("fn", StrCat(fn, " needs a `field`"));
    }
    a.window = ar.GetDuration("window");
    a.granularity = ar.GetDuration("granularity");
    if (!emitted && !g.table && !ar.Has("window")) {
      ar.Bad("window", "a per-event aggregation needs a `window` (e.g. window: 1h)");
    } else if (emitted && ar.Has("window")) {
      ar.Bad("window", "aggregations of a windowed group use the group's window; remove it");
    }
    if (!ar.Has("window") && a.window == Duration::Zero() && ar.Has("granularity")) {
      ar.Bad("granularity", "granularity needs a window");
    }
    if (ar.Has("granularity") && a.granularity > a.window && a.window > Duration::Zero()) {
      ar.Bad("granularity", "granularity must not be longer than the window");
    }
    if (a.kind == AggKind::kQuantile) {
      auto q = ar.Number("q");
      if (!ar.Has("q")) {
        ar.Bad("fn", "quantile needs `q` (e.g. q: 0.99)");
      } else if (q && (*q < 0 || *q > 1)) {
        ar.Bad("q", StrCat("q must be within [0, 1], got ", *q));
      } else if (q) {
        a.quantile = *q;
      }
    } else if (ar.Has("q")) {
      ar.Bad("q", "only quantile takes `q`");
    }
    if (a.kind == AggKind::kTopK) {
      int64_t k = ar.Int("k");
      if (!ar.Has("k")) {
        ar.Bad("fn", "top_k needs `k` (e.g. k: 3)");
      } else if (k < 1 || k > 1000) {
        ar.Bad("k", StrCat("k must be between 1 and 1000, got ", k));
      } else {
        a.k = static_cast<int>(k);
      }
    } else if (ar.Has("k")) {
      ar.Bad("k", "only top_k takes `k`");
    }
    if (a.kind == AggKind::kDecayedSum) {
      a.half_life = ar.GetDuration("half_life");
      if (!ar.Has("half_life")) {
        ar.Bad("fn", "decayed_sum needs `half_life` (e.g. half_life: 1h)");
      } else if (a.half_life == Duration::Zero()) {
        ar.Bad("half_life", "half_life must be positive");
      }
    } else if (ar.Has("half_life")) {
      ar.Bad("half_life", "only decayed_sum takes `half_life`");
    }
    g.aggregations.push_back(std::move(a));
  });
  r.ForEachItem("join", [&](const YAML::Node& item, size_t i) {
    JoinSpec j;
    SectionReader jr(item, Section("join"), diags, StrCat(ctx, ".join[", i, "]"));
    j.where = jr.where().ToString();
    if (!jr.valid()) return;
    j.table = jr.String("table");
    j.on = jr.StringList("on");
    j.fields = jr.StringList("fields");
    j.prefix = jr.String("prefix");
    g.joins.push_back(std::move(j));
  });
  r.ForEachItem("derived", [&](const YAML::Node& item, size_t i) {
    DerivedSpec d;
    std::string dctx = StrCat(ctx, ".derived[", i, "]");
    SectionReader dr(item, Section("derived"), diags, dctx);
    d.where = dr.WhereOf("expr").ToString();
    if (!dr.valid()) return;
    d.name = dr.String("name");
    if (dr.Has("name") && !IsIdentifier(d.name)) {
      dr.Bad("name", StrCat(Quote(d.name), " is not a valid name (letters, digits, underscores)"));
    }
    d.expr = dr.String("expr");
    g.derived.push_back(std::move(d));
  });
  if (emitted && (r.Has("join") || r.Has("derived"))) {
    r.Bad(r.Has("join") ? "join" : "derived",
          "joins and derived features belong to per-event groups (without `window`)");
  }
  if (!g.table && g.aggregations.empty() && g.joins.empty() && g.derived.empty()) {
    diags.Error(r.where(), StrCat(ctx,
                                  ": a feature group needs aggregations, joins, derived "
                                  "features, or `table`"));
  }
  OutputSpec out = r.Output("output", base_dir);
  g.output = out.path;
  g.output_format = out.format;
  if (r.Has("ttl")) {
    g.ttl = r.GetDuration("ttl");
    if (g.ttl == Duration::Zero()) r.Bad("ttl", "a ttl must be positive (omit it for no TTL)");
  }
  g.stale = r.Enum("stale");
  if (g.stale.empty()) g.stale = "flag";
  YAML::Node defaults = r.Get("defaults");
  if (defaults.IsDefined() && !defaults.IsNull()) {
    if (!defaults.IsMap()) {
      r.Bad("defaults",
            StrCat("expected a map of feature name to value, got ", NodeKind(defaults)));
    } else {
      for (auto it = defaults.begin(); it != defaults.end(); ++it) {
        YAML::Node k = it->first;
        YAML::Node v = it->second;
        if (!k.IsScalar() || !(v.IsScalar() || v.IsNull())) {
          diags.Error(k, StrCat(ctx, ".defaults: each default is `feature: scalar`"));
          continue;
        }
        g.defaults.emplace_back(k.Scalar(), v.IsNull() ? "null" : v.Scalar());
      }
    }
  }
  bool per_event = !emitted && !g.table;
  for (std::string_view key : {"ttl", "stale", "defaults"}) {
    if (!per_event && r.Has(key)) {
      r.Bad(key, StrCat("`", key, "` applies to per-event groups (their vectors are served)"));
    }
  }
  if (r.Has("output") && !emitted) {
    r.Bad("output", "per-event groups write to outputs.features; `output` is for windowed groups");
  }
  return g;
}

// A map of name -> scalar text; reports non-scalar values.
std::vector<std::pair<std::string, std::string>> ReadScalarMap(SectionReader& r,
                                                               std::string_view key,
                                                               Diagnostics& diags) {
  std::vector<std::pair<std::string, std::string>> out;
  YAML::Node m = r.Get(key);
  if (!m.IsDefined() || m.IsNull()) return out;
  if (!m.IsMap()) {
    r.Bad(key, StrCat("expected a map of name to value, got ", NodeKind(m)));
    return out;
  }
  for (auto it = m.begin(); it != m.end(); ++it) {
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    if (!k.IsScalar() || !v.IsScalar()) {
      diags.Error(k, StrCat(r.context(), ".", key, ": each entry is `name: value`"));
      continue;
    }
    out.emplace_back(k.Scalar(), v.Scalar());
  }
  return out;
}

ModelSpec ReadModel(const YAML::Node& node, size_t index, Diagnostics& diags,
                    const std::string& base_dir) {
  ModelSpec m;
  std::string ctx = StrCat("models[", index, "]");
  if (node.IsMap() && node["name"].IsDefined() && node["name"].IsScalar()) {
    ctx = StrCat("model ", Quote(node["name"].Scalar()));
  }
  SectionReader r(node, Section("model"), diags, ctx);
  m.where = r.where().ToString();
  if (!r.valid()) return m;
  m.name = r.String("name");
  if (r.Has("name") && !IsIdentifier(m.name)) {
    r.Bad("name", StrCat(Quote(m.name), " is not a valid name (letters, digits, underscores)"));
  }
  m.source = r.String("source");
  m.path = r.Path("path", base_dir);
  m.registry = r.Path("registry", base_dir);
  m.registry_name = r.String("registry_name");
  if (m.registry_name.empty()) m.registry_name = m.name;
  m.version = r.String("version");
  if (m.version != "live") {
    bool digits = !m.version.empty();
    for (char c : m.version) digits &= c >= '0' && c <= '9';
    if (!digits)
      r.Bad("version", StrCat("expected `live` or a version number, got ", Quote(m.version)));
  }
  YAML::Node online = r.Get("online");
  if (online.IsDefined()) {
    m.online = true;
    SectionReader o(online.IsNull() ? YAML::Node(YAML::NodeType::Map) : online, Section("online"),
                    diags, StrCat(ctx, ".online"));
    if (o.valid()) {
      m.online_task = o.Enum("task");
      m.numeric = o.StringList("numeric");
      m.hashed = o.StringList("hashed");
      m.learner_options = ReadScalarMap(o, "options", diags);
      if (m.numeric.empty() && m.hashed.empty()) {
        diags.Error(o.where(), StrCat(ctx,
                                      ".online: an online learner needs `numeric` and/or "
                                      "`hashed` inputs"));
      }
    }
  }
  int sources = (r.Has("path") ? 1 : 0) + (r.Has("registry") ? 1 : 0) + (m.online ? 1 : 0);
  if (sources != 1) {
    diags.Error(r.where(), StrCat(ctx, ": give exactly one of `path`, `registry` or `online`"));
  }
  if (!r.Has("registry") && (r.Has("registry_name") || r.Has("version"))) {
    r.Bad(r.Has("version") ? "version" : "registry_name", "only models from a `registry` have it");
  }
  m.inputs = ReadScalarMap(r, "inputs", diags);
  YAML::Node encode = r.Get("encode");
  if (encode.IsDefined() && !encode.IsNull()) {
    if (!encode.IsMap()) {
      r.Bad("encode",
            StrCat("expected a map of input name to a list of values, got ", NodeKind(encode)));
    } else {
      for (auto it = encode.begin(); it != encode.end(); ++it) {
        YAML::Node k = it->first;
        YAML::Node v = it->second;
        if (!k.IsScalar() || !v.IsSequence()) {
          diags.Error(k, StrCat(ctx, ".encode: each entry is `input: [value, value, ...]`"));
          continue;
        }
        std::vector<std::string> values;
        for (const auto& item : v) {
          if (item.IsScalar()) values.push_back(item.Scalar());
        }
        m.encode.emplace_back(k.Scalar(), std::move(values));
      }
    }
  }
  m.skip_missing = r.Enum("missing") == "skip";
  for (const auto& [name, text] : ReadScalarMap(r, "defaults", diags)) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) {
      r.Bad("defaults", StrCat("default of ", Quote(name), " must be a number, got ", Quote(text)));
      continue;
    }
    m.defaults.emplace_back(name, v);
  }
  m.filter = r.String("filter");
  m.filter_where = r.WhereOf("filter").ToString();
  m.threshold = r.Number("threshold").value_or(0.5);
  m.output = r.Output("output", base_dir);
  return m;
}

FeedbackSpec ReadFeedback(const YAML::Node& node, Diagnostics& diags, const std::string& base_dir) {
  FeedbackSpec f;
  SectionReader r(node, Section("feedback"), diags, "feedback");
  f.where = r.where().ToString();
  if (!r.valid()) return f;
  f.enabled = true;
  f.source = r.String("source");
  f.id_field = r.String("id");
  f.label_field = r.String("label");
  f.horizon = r.GetDuration("horizon");
  if (f.horizon == Duration::Zero()) r.Bad("horizon", "the horizon must be positive");
  f.metrics_window = r.Int("metrics_window");
  if (f.metrics_window < 10) r.Bad("metrics_window", "must be at least 10");
  f.unmatched = r.Output("unmatched", base_dir);
  return f;
}

}  // namespace

Result<PipelineSpec> ParsePipeline(std::string_view yaml, std::string_view file_name,
                                   std::string_view base_dir) {
  Diagnostics diags{std::string(file_name)};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ConfigLocation where{std::string(file_name), e.mark.line + 1, e.mark.column + 1};
    if (e.mark.line < 0) where.line = 0;
    return Status::InvalidArgument(StrCat(where.ToString(), ": not valid YAML: ", e.msg));
  }
  PipelineSpec spec;
  spec.file = std::string(file_name);
  spec.base_dir = std::string(base_dir);
  try {
    if (!root.IsDefined() || root.IsNull()) {
      // Reported at 1:1 so that every error has the same file:line:column form.
      return Status::InvalidArgument(StrCat(file_name, ":1:1: the pipeline file is empty"));
    }
    SectionReader top(root, Section("pipeline"), diags, "pipeline");
    if (top.valid()) {
      spec.version = static_cast<int>(top.Int("version"));
      if (spec.version != 1) {
        top.Bad("version",
                StrCat("version ", spec.version, " is not supported; this Eddy reads version 1"));
      }
      spec.name = top.String("name");
      if (spec.name.empty())
        spec.name = std::filesystem::path(std::string(file_name)).stem().string();
      bool is_list = top.ForEachItem("sources", [&](const YAML::Node& item, size_t i) {
        spec.sources.push_back(ReadSource(item, i, diags, spec.base_dir));
      });
      if (is_list && spec.sources.empty()) {
        top.Bad("sources", "a pipeline needs at least one source");
      }
      std::set<std::string> names;
      for (const SourceSpec& s : spec.sources) {
        if (!s.name.empty() && !names.insert(s.name).second) {
          diags.Error(s.where, StrCat("source name ", Quote(s.name), " is used twice"));
        }
      }
      top.ForEachItem("features", [&](const YAML::Node& item, size_t i) {
        spec.features.push_back(ReadFeatureGroup(item, i, diags, spec.base_dir));
      });
      std::set<std::string> group_names;
      for (const FeatureGroupSpec& g : spec.features) {
        if (!g.name.empty() && !group_names.insert(g.name).second) {
          diags.ErrorAt(g.where, StrCat("feature group name ", Quote(g.name), " is used twice"));
        }
      }
      top.ForEachItem("models", [&](const YAML::Node& item, size_t i) {
        spec.models.push_back(ReadModel(item, i, diags, spec.base_dir));
      });
      std::set<std::string> model_names;
      for (const ModelSpec& m : spec.models) {
        if (!m.name.empty() && !model_names.insert(m.name).second) {
          diags.ErrorAt(m.where, StrCat("model name ", Quote(m.name), " is used twice"));
        }
      }
      YAML::Node feedback = top.Get("feedback");
      if (feedback.IsDefined() && !feedback.IsNull()) {
        spec.feedback = ReadFeedback(feedback, diags, spec.base_dir);
      }
      YAML::Node serving = top.Get("serving");
      if (serving.IsDefined()) {
        SectionReader sv(serving.IsNull() ? YAML::Node(YAML::NodeType::Map) : serving,
                         Section("serving"), diags, "serving");
        if (sv.valid()) {
          ServingSpec& v = spec.serving;
          v.enabled = true;
          v.where = sv.where().ToString();
          v.address = sv.String("address");
          int64_t port = sv.Int("port");
          if (port < 0 || port > 65535) sv.Bad("port", "must be between 0 and 65535");
          v.port = static_cast<int>(port);
          v.port_file = sv.Path("port_file", spec.base_dir);
          int64_t threads = sv.Int("threads");
          if (threads < 1 || threads > 256) sv.Bad("threads", "must be between 1 and 256");
          v.threads = static_cast<int>(threads);
          v.auth = sv.Bool("auth");
          v.tokens = sv.Path("tokens", spec.base_dir);
          v.tls_cert = sv.Path("tls_cert", spec.base_dir);
          v.tls_key = sv.Path("tls_key", spec.base_dir);
          if (v.tls_cert.empty() != v.tls_key.empty()) {
            sv.Bad(v.tls_cert.empty() ? "tls_key" : "tls_cert",
                   "TLS needs both tls_cert and tls_key");
          }
          v.max_body_bytes = sv.Bytes("max_body_bytes").value_or(4 << 20);
          v.audit_log = sv.Path("audit_log", spec.base_dir);
          v.public_metrics = sv.Bool("public_metrics");
        }
      }
      for (const SourceSpec& s : spec.sources) {
        if (s.http && !spec.serving.enabled) {
          diags.ErrorAt(
              s.where.ToString(),
              StrCat("source ", Quote(s.name), " has type: http, which needs a `serving` section"));
        }
      }
      YAML::Node state = top.Get("state");
      if (state.IsDefined()) {
        SectionReader st(state.IsNull() ? YAML::Node(YAML::NodeType::Map) : state, Section("state"),
                         diags, "state");
        if (st.valid()) {
          spec.state.enabled = true;
          spec.state.dir = st.Path("dir", spec.base_dir);
          spec.state.online_store = st.Enum("online_store");
          spec.state.cache_entries = st.Int("cache_entries");
          if (spec.state.cache_entries < 0) st.Bad("cache_entries", "must not be negative");
          spec.state.history = st.Bool("history");
          spec.state.availability_event_time = st.Enum("availability") == "event_time";
          spec.state.checkpoint_interval = st.GetDuration("checkpoint_interval");
          spec.state.checkpoints_kept = static_cast<int>(st.Int("checkpoints_kept"));
          if (spec.state.checkpoints_kept < 1) st.Bad("checkpoints_kept", "must be at least 1");
        }
      }
      YAML::Node outputs = top.Get("outputs");
      if (outputs.IsDefined() && !outputs.IsNull()) {
        SectionReader o(outputs, Section("outputs"), diags, "outputs");
        if (o.valid()) {
          spec.outputs.accepted = o.Output("accepted", spec.base_dir);
          spec.outputs.features = o.Output("features", spec.base_dir);
          spec.outputs.late = o.Output("late", spec.base_dir);
          spec.outputs.dead_letter = o.Output("dead_letter", spec.base_dir);
        }
      }
    }
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed documents while walking them.
    diags.Error(ConfigLocation{diags.file(), e.mark.line + 1, e.mark.column + 1}, e.msg);
  }
  if (!diags.ok()) return diags.ToStatus();
  return spec;
}

Result<PipelineSpec> LoadPipelineFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(StrCat(path, ": is a directory, expected a pipeline file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound(StrCat(path, ": cannot open pipeline file: ", std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string base = std::filesystem::absolute(path).parent_path().string();
  return ParsePipeline(ss.str(), path, base);
}

}  // namespace eddy
