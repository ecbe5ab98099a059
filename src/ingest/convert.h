// Conversions from text to typed values shared by the decoders, with the
// error messages users see in the dead-letter output.

#ifndef EDDY_INGEST_CONVERT_H_
#define EDDY_INGEST_CONVERT_H_

#include <string_view>

#include "base/value.h"
#include "config/pipeline.h"
#include "ingest/schema.h"

namespace eddy {

// Event time from an epoch number in seconds or milliseconds. Returns false
// when the value is not finite or outside years 0001-9999.
bool EpochToEventTime(double value, TimestampFormat format, EventTime& out);
bool EpochToEventTime(int64_t value, TimestampFormat format, EventTime& out);

// Converts `text` (an unquoted CSV cell or similar) to the type of field
// `index` and stores it in `row`. Empty text must be handled by the caller.
bool ConvertText(std::string_view text, const FieldSpec& field, size_t index, Row& row,
                 DecodeError& err);

}  // namespace eddy

#endif  // EDDY_INGEST_CONVERT_H_
