// StoredVector: one feature vector as the store keeps it, and its binary
// encoding (docs/formats/feature-vector.md, version 1).

#ifndef EDDY_STORE_STORED_VECTOR_H_
#define EDDY_STORE_STORED_VECTOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "eddy/status.h"
#include "features/feature_value.h"

namespace eddy {

struct StoredVector {
  EventTime event_time;              // the event time the values are "as of"
  ProcessingTime computed_at;        // when Eddy computed them: the availability time
  std::vector<FeatureValue> values;  // in the group's feature order

  friend bool operator==(const StoredVector& a, const StoredVector& b) {
    return a.event_time == b.event_time && a.computed_at == b.computed_at && a.values == b.values;
  }
};

// Appends the encoding of `v` to `out`.
void EncodeStoredVector(const StoredVector& v, std::string& out);
// Decodes bytes written by EncodeStoredVector. Corrupt or truncated input is a
// kCorruption error naming what is wrong; it never crashes.
Result<StoredVector> DecodeStoredVector(std::string_view bytes);

}  // namespace eddy

#endif  // EDDY_STORE_STORED_VECTOR_H_
