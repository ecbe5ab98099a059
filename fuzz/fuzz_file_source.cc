// Fuzzes the file source's framing (ingest/file_source.cc) together with the
// decoders: the input is written to a temporary file which the real
// FileSource reads, as JSON lines and as CSV, with a small max_record_bytes
// so oversized and unterminated records take the truncation paths. Every
// record is then judged by a SourcePipeline and formatted as the outputs
// would write it.
//
// Properties of the framing, for every input:
//   - records tile the file: each starts right after the previous one's line
//     terminator ("\n" or "\r\n", not counted in its size), the first after
//     a UTF-8 byte-order mark if there is one, and the last ends the file;
//   - a record's offset is the 0-based line on which it starts;
//   - its bytes are the file's bytes at that position (a prefix when
//     truncated), never longer than max_record_bytes unless truncated;
//   - only the first non-blank CSV record is a header;
//   - the source reaches its end within a bounded number of polls.

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/strings.h"
#include "engine/record_json.h"
#include "engine/source_pipeline.h"
#include "fuzz/fuzz_util.h"
#include "ingest/source.h"

namespace eddy::fuzz {
namespace {

constexpr uint64_t kMaxRecordBytes = 128;
// Records per poll. More than one, so records of one batch are read
// together as the engine does. EDDY_FUZZ_POLL_RECORDS overrides it (1 makes
// each record be used before the next poll, for exploring past a bug that
// only shows within a batch).
size_t PollRecords() {
  static const size_t n = [] {
    const char* env = std::getenv("EDDY_FUZZ_POLL_RECORDS");
    long v = env != nullptr ? std::atol(env) : 0;
    return v > 0 ? static_cast<size_t>(v) : size_t{3};
  }();
  return n;
}

class FormattingHandler final : public RecordHandler {
 public:
  void OnAccepted(const SourcePipeline& source, const RawRecord& rec, const Row& row,
                  EventTime t) override {
    out_.clear();
    AppendAcceptedJson(out_, source, rec, row, t);
  }
  void OnLate(const SourcePipeline& source, const RawRecord& rec, const Row& row, EventTime t,
              const WatermarkTracker::Admission& a) override {
    out_.clear();
    AppendLateJson(out_, source, rec, row, t, a);
  }
  void OnDeadLetter(const SourcePipeline& source, const RawRecord& rec,
                    const DecodeError& err) override {
    out_.clear();
    FUZZ_CHECK(!err.code.empty(), "dead letter without an error code");
    AppendDeadLetterJson(out_, source, rec, err, "fuzz:1");
  }

 private:
  std::string out_;
};

const std::string& TempPath() {
  // Never destroyed: the exit handler below reads it.
  static const std::string& path = *new std::string([] {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/eddy_fuzz_XXXXXX");
    if (::mkdtemp(dir.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      // Removes the input file and its directory when the fuzzer exits.
      std::string input = TempPath();
      std::remove(input.c_str());
      ::rmdir(input.substr(0, input.rfind('/')).c_str());
    });
    return dir + "/input";
  }());
  return path;
}

void WriteInput(std::string_view input) {
  FILE* f = std::fopen(TempPath().c_str(), "wb");
  if (f == nullptr || std::fwrite(input.data(), 1, input.size(), f) != input.size() ||
      std::fclose(f) != 0) {
    std::perror("writing the fuzz input");
    std::abort();
  }
}

void Run(SourceSpec& spec, std::string_view file) {
  spec.path = TempPath();
  const bool csv = spec.format == SourceFormat::kCsv;
  auto pipeline = SourcePipeline::Create(spec);
  FUZZ_CHECK(pipeline.ok(), pipeline.status().ToString());
  std::unique_ptr<Source> source = MakeFileSource(spec);
  Status s = source->Open();
  FUZZ_CHECK(s.ok(), s.ToString());
  FUZZ_CHECK(source->num_partitions() == 1, "one file, one partition");
  SourcePipeline& p = **pipeline;
  p.Attach(1, ProcessingTime::FromMicros(0));
  FormattingHandler handler;

  const size_t bom = file.size() >= 3 && file.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  size_t pos = bom;  // where the next record must start
  int64_t last_offset = -1;
  bool seen_non_blank = false;
  const size_t max_polls = 4 * file.size() + 16;
  size_t polls = 0;
  PollBatch batch;
  while (!source->AtEnd()) {
    FUZZ_CHECK(++polls <= max_polls, StrCat("no end after ", max_polls, " polls"));
    s = source->Poll(PollRecords(), Duration::Zero(), batch);
    FUZZ_CHECK(s.ok(), s.ToString());
    FUZZ_CHECK(batch.records.size() <= PollRecords(), "batch larger than asked");
    for (const RawRecord& rec : batch.records) {
      std::string where = StrCat("record at file byte ", pos, ", offset ", rec.offset.value(),
                                 ", size ", rec.size, csv ? " (csv)" : " (jsonl)");
      FUZZ_CHECK(rec.partition == Partition(0), where);
      FUZZ_CHECK(rec.offset.value() > last_offset, where + ": offsets must increase");
      last_offset = rec.offset.value();
      FUZZ_CHECK(pos + rec.size <= file.size(), where + ": record past the end");
      const int64_t line = std::count(file.begin(), file.begin() + pos, '\n');
      FUZZ_CHECK(rec.offset.value() == line,
                 StrCat(where, ": the record starts on line index ", line));
      FUZZ_CHECK(rec.bytes.size() <= rec.size, where);
      FUZZ_CHECK(std::memcmp(rec.bytes.data(), file.data() + pos, rec.bytes.size()) == 0,
                 where + ": bytes differ from the file");
      if (rec.truncated) {
        FUZZ_CHECK(rec.size > kMaxRecordBytes, where + ": truncated but not too large");
      } else {
        FUZZ_CHECK(rec.bytes.size() <= kMaxRecordBytes, where + ": too large but not truncated");
        FUZZ_CHECK(rec.bytes.size() == rec.size, where + ": size differs from the bytes");
        if (!csv) {
          FUZZ_CHECK(rec.bytes.find('\n') == std::string_view::npos,
                     where + ": a JSON-lines record holds a newline");
        }
      }
      const bool blank = rec.bytes.empty() && !rec.truncated;
      if (csv && !blank) {
        FUZZ_CHECK(rec.is_header == !seen_non_blank, where + ": header flag");
        seen_non_blank = true;
      } else {
        FUZZ_CHECK(!rec.is_header, where + ": header flag");
      }
      // Past the record and its terminator.
      pos += rec.size;
      if (pos < file.size() && file[pos] == '\r' &&
          (pos + 1 == file.size() || file[pos + 1] == '\n')) {
        ++pos;
      }
      if (pos < file.size()) {
        FUZZ_CHECK(file[pos] == '\n', where + ": the record does not end at a line end");
        ++pos;
      }
      p.Process(rec, ProcessingTime::FromMicros(static_cast<int64_t>(polls)), handler);
    }
    for (Partition ended : batch.ended) p.EndPartition(ended);
  }
  FUZZ_CHECK(pos == file.size(),
             StrCat("records cover ", pos, " of ", file.size(), " bytes", csv ? " (csv)" : ""));
  FUZZ_CHECK(p.watermark().is_end_of_time(), "watermark at the end of the input");
}

}  // namespace
}  // namespace eddy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eddy;
  using namespace eddy::fuzz;
  static SourceSpec* jsonl = [] {
    auto* s = new SourceSpec(FuzzSourceSpec(SourceFormat::kJsonLines));
    s->max_record_bytes = kMaxRecordBytes;
    return s;
  }();
  static SourceSpec* csv = [] {
    auto* s = new SourceSpec(FuzzSourceSpec(SourceFormat::kCsv));
    s->max_record_bytes = kMaxRecordBytes;
    return s;
  }();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  WriteInput(input);
  Run(*jsonl, input);
  Run(*csv, input);
  return 0;
}
