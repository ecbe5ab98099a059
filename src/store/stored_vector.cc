#include "store/stored_vector.h"

#include "base/coding.h"
#include "base/strings.h"

namespace eddy {
namespace {

// Value tags of format version 1 (docs/formats/feature-vector.md).
enum Tag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
  kList = 6,
};
constexpr uint8_t kVersion = 1;

}  // namespace

void EncodeStoredVector(const StoredVector& v, std::string& out) {
  out.push_back(static_cast<char>(kVersion));
  PutSigned(out, v.event_time.micros());
  PutSigned(out, v.computed_at.micros());
  PutVarint64(out, v.values.size());
  for (const FeatureValue& f : v.values) {
    switch (f.type()) {
      case FeatureValue::Type::kNull:
        out.push_back(kNull);
        break;
      case FeatureValue::Type::kBool:
        out.push_back(f.bool_value() ? kTrue : kFalse);
        break;
      case FeatureValue::Type::kInt:
        out.push_back(kInt);
        PutSigned(out, f.int_value());
        break;
      case FeatureValue::Type::kDouble:
        out.push_back(kDouble);
        PutDouble(out, f.double_value());
        break;
      case FeatureValue::Type::kString:
        out.push_back(kString);
        PutString(out, f.string_value());
        break;
      case FeatureValue::Type::kList:
        out.push_back(kList);
        PutVarint64(out, f.list_value().size());
        for (const std::string& s : f.list_value()) PutString(out, s);
        break;
    }
  }
}

Result<StoredVector> DecodeStoredVector(std::string_view bytes) {
  ByteReader r(bytes, "feature vector");
  uint8_t version;
  if (!r.Byte(version)) return r.status();
  if (version != kVersion) {
    return Status::Corruption(StrCat("feature vector has format version ", version,
                                     "; this Eddy reads version ", kVersion));
  }
  StoredVector v;
  int64_t et, ca;
  uint64_t n;
  if (!r.Signed(et) || !r.Signed(ca) || !r.Varint64(n)) return r.status();
  if (n > r.remaining()) return Status::Corruption(StrCat("feature vector claims ", n, " values"));
  v.event_time = EventTime::FromMicros(et);
  v.computed_at = ProcessingTime::FromMicros(ca);
  v.values.resize(static_cast<size_t>(n));
  for (FeatureValue& f : v.values) {
    uint8_t tag;
    if (!r.Byte(tag)) return r.status();
    switch (tag) {
      case kNull:
        f.SetNull();
        break;
      case kFalse:
        f.SetBool(false);
        break;
      case kTrue:
        f.SetBool(true);
        break;
      case kInt: {
        int64_t i;
        if (!r.Signed(i)) return r.status();
        f.SetInt(i);
        break;
      }
      case kDouble: {
        double d;
        if (!r.Double(d)) return r.status();
        f.SetDouble(d);
        break;
      }
      case kString: {
        std::string_view s;
        if (!r.String(s)) return r.status();
        f.SetString(s);
        break;
      }
      case kList: {
        uint64_t count;
        if (!r.Varint64(count)) return r.status();
        if (count > r.remaining()) return Status::Corruption("feature vector list is too long");
        auto& list = f.SetList();
        for (uint64_t i = 0; i < count; ++i) {
          std::string_view s;
          if (!r.String(s)) return r.status();
          list.emplace_back(s);
        }
        break;
      }
      default:
        return Status::Corruption(StrCat("feature vector has unknown value tag ", tag));
    }
  }
  if (!r.at_end()) return Status::Corruption("feature vector has trailing bytes");
  return v;
}

}  // namespace eddy
