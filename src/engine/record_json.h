// The JSON-lines forms of accepted, late and dead-letter records. The formats
// are documented in docs/reference/outputs.md; a change here is a change to
// a user-visible format.

#ifndef EDDY_ENGINE_RECORD_JSON_H_
#define EDDY_ENGINE_RECORD_JSON_H_

#include <string>
#include <string_view>

#include "engine/source_pipeline.h"

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

// The record's key as JSON: the value of a single key field, an array for a
// composite key, null when the source has no key.
void AppendKeyJson(std::string& out, const Schema& schema, const Row& row);

}  // namespace eddy

#endif  // EDDY_ENGINE_RECORD_JSON_H_
