#include "engine/record_json.h"

#include "base/json_writer.h"
#include "base/strings.h"
#include "base/utf8.h"

namespace eddy {
namespace {

void AppendCommon(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                  const Row& row, EventTime t) {
  const Schema& schema = source.schema();
  out.append("{\"source\":");
  AppendJsonString(out, source.spec().name);
  StrAppend(out, ",\"partition\":", rec.partition.value(), ",\"offset\":", rec.offset.value(),
            ",\"event_time\":\"");
  AppendIso8601(out, t);
  out.append("\",\"key\":");
  AppendKeyJson(out, schema, row);
  if (schema.id_index() >= 0) {
    out.append(",\"id\":");
    AppendValueJson(out, row, static_cast<size_t>(schema.id_index()));
  }
  out.append(",\"record\":{");
  for (size_t i = 0; i < schema.num_fields(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(out, schema.field(i).name);
    out.push_back(':');
    AppendValueJson(out, row, i);
  }
  out.push_back('}');
}

}  // namespace

void AppendKeyJson(std::string& out, const Schema& schema, const Row& row) {
  const auto& keys = schema.key_indices();
  if (keys.empty()) {
    out.append("null");
  } else if (keys.size() == 1) {
    AppendValueJson(out, row, static_cast<size_t>(keys[0]));
  } else {
    out.push_back('[');
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendValueJson(out, row, static_cast<size_t>(keys[i]));
    }
    out.push_back(']');
  }
}

void AppendAcceptedJson(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                        const Row& row, EventTime t) {
  AppendCommon(out, source, rec, row, t);
  out.push_back('}');
}

void AppendLateJson(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                    const Row& row, EventTime t, const WatermarkTracker::Admission& a) {
  AppendCommon(out, source, rec, row, t);
  out.append(",\"watermark\":\"");
  AppendIso8601(out, a.watermark.time());
  out.append("\",\"lateness_ms\":");
  AppendDouble(out, a.lateness.millis());
  out.push_back('}');
}

void AppendDeadLetterJson(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                          const DecodeError& err, std::string_view location) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("source").String(source.spec().name);
  w.Key("partition").Int(rec.partition.value());
  w.Key("offset").Int(rec.offset.value());
  w.Key("location").String(location);
  w.Key("error").String(err.code);
  if (!err.field.empty()) w.Key("field").String(err.field);
  w.Key("reason").String(err.message);
  if (rec.truncated) {
    w.Key("size").Uint(rec.size);
    w.Key("truncated").Bool(true);
  }
  if (IsValidUtf8(rec.bytes)) {
    w.Key("raw").String(rec.bytes);
  } else {
    w.Key("raw_base64").String(Base64Encode(rec.bytes));
  }
  w.EndObject();
}

namespace {

void AppendCsvCell(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// A row value as CSV text: strings bare, other values as JSON.
void AppendValueCsv(std::string& out, const Row& row, size_t i) {
  if (row[i].is_null()) return;
  if (row[i].kind() == Value::Kind::kString) {
    AppendCsvCell(out, row.GetString(i));
    return;
  }
  std::string text;
  AppendValueJson(text, row, i);
  if (row[i].kind() == Value::Kind::kTimestamp) text = text.substr(1, text.size() - 2);
  AppendCsvCell(out, text);
}

}  // namespace

void AppendFeatureRowJson(std::string& out, const SourcePipeline& source, const Row& row,
                          EventTime t, const std::vector<std::string>& names,
                          const std::vector<FeatureValue>& values) {
  const Schema& schema = source.schema();
  out.append("{\"source\":");
  AppendJsonString(out, source.spec().name);
  if (schema.id_index() >= 0) {
    out.append(",\"id\":");
    AppendValueJson(out, row, static_cast<size_t>(schema.id_index()));
  }
  out.append(",\"key\":");
  AppendKeyJson(out, schema, row);
  out.append(",\"event_time\":\"");
  AppendIso8601(out, t);
  out.push_back('"');
  for (size_t i = 0; i < names.size(); ++i) {
    out.push_back(',');
    AppendJsonString(out, names[i]);
    out.push_back(':');
    values[i].AppendJson(out);
  }
  out.push_back('}');
}

void AppendFeatureRowCsvHeader(std::string& out, const SourcePipeline& source,
                               const std::vector<std::string>& names) {
  out.append("source");
  if (source.schema().id_index() >= 0) out.append(",id");
  out.append(",key,event_time");
  for (const std::string& n : names) {
    out.push_back(',');
    AppendCsvCell(out, n);
  }
}

void AppendFeatureRowCsv(std::string& out, const SourcePipeline& source, const Row& row,
                         EventTime t, const std::vector<FeatureValue>& values) {
  const Schema& schema = source.schema();
  AppendCsvCell(out, source.spec().name);
  if (schema.id_index() >= 0) {
    out.push_back(',');
    AppendValueCsv(out, row, static_cast<size_t>(schema.id_index()));
  }
  out.push_back(',');
  if (schema.key_indices().size() == 1) {
    AppendValueCsv(out, row, static_cast<size_t>(schema.key_indices()[0]));
  } else {
    std::string key;
    AppendKeyJson(key, schema, row);
    AppendCsvCell(out, key);
  }
  out.push_back(',');
  AppendIso8601(out, t);
  for (const FeatureValue& v : values) {
    out.push_back(',');
    v.AppendCsv(out);
  }
}

void AppendWindowRowJson(std::string& out, const WindowRow& row) {
  out.append("{\"group\":");
  AppendJsonString(out, row.group);
  out.append(",\"key\":");
  out.append(row.key_json);
  out.append(",\"window_start\":\"");
  AppendIso8601(out, row.start);
  out.append("\",\"window_end\":\"");
  AppendIso8601(out, row.end);
  out.push_back('"');
  for (size_t i = 0; i < row.names->size(); ++i) {
    out.push_back(',');
    AppendJsonString(out, (*row.names)[i]);
    out.push_back(':');
    (*row.values)[i].AppendJson(out);
  }
  StrAppend(out, ",\"emission\":", row.emission);
  if (!row.replaces.empty()) {
    out.append(",\"replaces\":[");
    for (size_t i = 0; i < row.replaces.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append("[\"");
      AppendIso8601(out, row.replaces[i].first);
      out.append("\",\"");
      AppendIso8601(out, row.replaces[i].second);
      out.append("\"]");
    }
    out.push_back(']');
  }
  out.push_back('}');
}

void AppendWindowRowCsvHeader(std::string& out, const std::vector<std::string>& names) {
  out.append("group,key,window_start,window_end");
  for (const std::string& n : names) {
    out.push_back(',');
    AppendCsvCell(out, n);
  }
  out.append(",emission,replaces");
}

void AppendWindowRowCsv(std::string& out, const WindowRow& row) {
  AppendCsvCell(out, row.group);
  out.push_back(',');
  std::string_view key = row.key_json;
  if (key.size() >= 2 && key.front() == '"' && key.find('\\') == std::string_view::npos) {
    key = key.substr(1, key.size() - 2);
  }
  AppendCsvCell(out, key);
  out.push_back(',');
  AppendIso8601(out, row.start);
  out.push_back(',');
  AppendIso8601(out, row.end);
  for (const FeatureValue& v : *row.values) {
    out.push_back(',');
    v.AppendCsv(out);
  }
  StrAppend(out, ",", row.emission, ",");
  if (!row.replaces.empty()) {
    // The superseded sessions, as a JSON array of [start, end] pairs.
    std::string r = "[";
    for (size_t i = 0; i < row.replaces.size(); ++i) {
      if (i > 0) r.push_back(',');
      r += "[\"";
      AppendIso8601(r, row.replaces[i].first);
      r += "\",\"";
      AppendIso8601(r, row.replaces[i].second);
      r += "\"]";
    }
    r.push_back(']');
    AppendCsvCell(out, r);
  }
}

}  // namespace eddy
