// Shared helpers of the libFuzzer targets in fuzz/: the schemas the decoder
// targets run against, and padded copies of fuzz input (decoders require
// kRecordPadding readable bytes after every record; see ingest/decoder.h).
//
// A target calls FuzzCheck() for properties that must hold for every input;
// a failure prints the property and aborts, which libFuzzer reports as a
// crash with the reproducing input.

#ifndef EDDY_FUZZ_FUZZ_UTIL_H_
#define EDDY_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline.h"
#include "ingest/decoder.h"

namespace eddy::fuzz {

[[noreturn]] inline void FuzzFail(const char* what, const char* file, int line,
                                  const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n%s\n", file, line, what, detail.c_str());
  std::abort();
}

#define FUZZ_CHECK(cond, detail)                                              \
  do {                                                                        \
    if (!(cond)) ::eddy::fuzz::FuzzFail(#cond, __FILE__, __LINE__, (detail)); \
  } while (0)

// EDDY_FUZZ_VERBOSE=1 makes targets print each verdict (to check that a
// seed corpus reaches the paths it is meant to).
inline bool Verbose() {
  static const bool verbose = std::getenv("EDDY_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

// A source whose schema has fields of every type and rule: strings with and
// without allowed values, ints with ranges and allowed values, doubles with a
// range, bools, and timestamps in all three formats; a composite key, an id
// and a watermark. Built directly rather than from YAML so the decoder
// targets do not depend on the pipeline loader (which has its own target).
inline SourceSpec FuzzSourceSpec(SourceFormat format,
                                 UnknownFieldPolicy unknown = UnknownFieldPolicy::kIgnore) {
  auto field = [](std::string name, FieldType type) {
    FieldSpec f;
    f.name = std::move(name);
    f.type = type;
    return f;
  };
  SourceSpec s;
  s.name = "tx";
  s.format = format;
  s.path = "input";
  FieldSpec f = field("tx_id", FieldType::kString);
  f.required = true;
  s.fields.push_back(f);
  s.fields.push_back(field("user_id", FieldType::kString));
  f = field("amount", FieldType::kDouble);
  f.min = 0;
  f.max = 100000;
  s.fields.push_back(f);
  f = field("qty", FieldType::kInt);
  f.min = -5;
  f.max = 1000000;
  s.fields.push_back(f);
  f = field("risk", FieldType::kInt);
  f.allowed = {"0", "1", "2", "-9223372036854775808"};
  s.fields.push_back(f);
  f = field("channel", FieldType::kString);
  f.allowed = {"web", "app", "pos", ""};
  s.fields.push_back(f);
  s.fields.push_back(field("card_present", FieldType::kBool));
  s.fields.push_back(field("ts", FieldType::kTimestamp));
  f = field("ts_s", FieldType::kTimestamp);
  f.timestamp_format = TimestampFormat::kEpochSeconds;
  s.fields.push_back(f);
  f = field("ts_ms", FieldType::kTimestamp);
  f.timestamp_format = TimestampFormat::kEpochMillis;
  s.fields.push_back(f);
  s.fields.push_back(field("score", FieldType::kDouble));
  s.fields.push_back(field("n", FieldType::kInt));
  s.fields.push_back(field("note", FieldType::kString));
  s.unknown_fields = unknown;
  s.event_time_field = "ts";
  s.key_fields = {"user_id", "channel"};
  s.id_field = "tx_id";
  s.watermark.max_out_of_orderness = Duration::Seconds(5);
  s.watermark.allowed_lateness = Duration::Seconds(1);
  s.watermark.idle_timeout = Duration::Minutes(1);
  s.max_record_bytes = 16 << 20;
  return s;
}

// Bytes followed by kRecordPadding bytes of junk. The decoder contract says
// the padding's content is irrelevant, so it is filled with characters that
// would change the parse if a decoder read them as data.
class PaddedBuffer {
 public:
  PaddedBuffer() = default;
  explicit PaddedBuffer(std::string_view bytes) { Assign(bytes); }

  void Assign(std::string_view bytes) {
    buf_.resize(bytes.size() + kRecordPadding);
    if (!bytes.empty()) std::memcpy(buf_.data(), bytes.data(), bytes.size());
    static constexpr char kJunk[] = "\"}],1\n\\";
    for (size_t i = 0; i < kRecordPadding; ++i) buf_[bytes.size() + i] = kJunk[i % 7];
    size_ = bytes.size();
  }
  std::string_view view() const { return std::string_view(buf_.data(), size_); }

 private:
  std::vector<char> buf_;
  size_t size_ = 0;
};

}  // namespace eddy::fuzz

#endif  // EDDY_FUZZ_FUZZ_UTIL_H_
