// The JSON-lines forms of accepted, late and dead-letter records. The formats
// are documented in docs/reference/outputs.md; a change here is a change to
// a user-visible format.

#ifndef EDDY_ENGINE_RECORD_JSON_H_
#define EDDY_ENGINE_RECORD_JSON_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/source_pipeline.h"
#include "features/feature_value.h"
#include "features/window_group.h"

namespace eddy {

// {"source":..,"partition":..,"offset":..,"event_time":..,"key":..,"id":..,"record":{..}}
void AppendAcceptedJson(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                        const Row& row, EventTime t);

// The accepted form plus "watermark" and "lateness_ms".
void AppendLateJson(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                    const Row& row, EventTime t, const WatermarkTracker::Admission& a);

// {"source","partition","offset","location","error","field","reason","size","truncated",
//  "raw" (when valid UTF-8) or "raw_base64"}
void AppendDeadLetterJson(std::string& out, const SourcePipeline& source, const RawRecord& rec,
                          const DecodeError& err, std::string_view location);

// A per-event feature row:
// {"source":..,"id":..,"key":..,"event_time":..,"<feature>":<value>,...}
void AppendFeatureRowJson(std::string& out, const SourcePipeline& source, const Row& row,
                          EventTime t, const std::vector<std::string>& names,
                          const std::vector<FeatureValue>& values);
// The same as CSV: the header row, and one row.
void AppendFeatureRowCsvHeader(std::string& out, const SourcePipeline& source,
                               const std::vector<std::string>& names);
void AppendFeatureRowCsv(std::string& out, const SourcePipeline& source, const Row& row,
                         EventTime t, const std::vector<FeatureValue>& values);

// An emitted window row:
// {"group":..,"key":..,"window_start":..,"window_end":..,"<feature>":..,"emission":n
//  [,"replaces":[["start","end"],...]]}
void AppendWindowRowJson(std::string& out, const WindowRow& row);
void AppendWindowRowCsvHeader(std::string& out, const std::vector<std::string>& names);
void AppendWindowRowCsv(std::string& out, const WindowRow& row);

// The record's key as JSON: the value of a single key field, an array for a
// composite key, null when the source has no key.
void AppendKeyJson(std::string& out, const Schema& schema, const Row& row);

}  // namespace eddy

#endif  // EDDY_ENGINE_RECORD_JSON_H_
