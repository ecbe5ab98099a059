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

}  // namespace eddy
