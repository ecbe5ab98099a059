// SourcePipeline: decode -> schema -> event time -> lateness -> filter, with
// a fake RecordHandler, explicit processing times, and the JSON forms of the
// outcomes (record_json.h).

#include "engine/source_pipeline.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "engine/record_json.h"
#include "test_util.h"

namespace eddy {
namespace {

using testing::JsonSubsetDiff;
using testing::TempDir;
using testing::WriteFile;

FieldSpec F(std::string name, FieldType type, TimestampFormat format = TimestampFormat::kIso8601) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  f.timestamp_format = format;
  return f;
}

// id, user, amount, ts (epoch seconds); keyed by user.
SourceSpec JsonSpec() {
  SourceSpec s;
  s.name = "tx";
  s.format = SourceFormat::kJsonLines;
  s.path = "tx.jsonl";
  s.fields = {F("id", FieldType::kString), F("user", FieldType::kString),
              F("amount", FieldType::kDouble),
              F("ts", FieldType::kTimestamp, TimestampFormat::kEpochSeconds)};
  s.event_time_field = "ts";
  s.key_fields = {"user"};
  s.id_field = "id";
  s.max_record_bytes = 16 << 20;
  return s;
}

ProcessingTime At(int64_t s) { return ProcessingTime::FromMicros(s * 1000000); }
EventTime Sec(int64_t s) { return EventTime::FromMicros(s * 1000000); }

// Records every outcome, with its JSON line as the engine would write it.
class FakeHandler final : public RecordHandler {
 public:
  struct Event {
    std::string kind;  // "accepted", "late", "dead"
    int partition;
    int64_t offset;
    std::string json;
    EventTime t;
    WatermarkTracker::Admission admission;
    std::string code;
    std::string field;
    std::string message;
  };

  void OnAccepted(const SourcePipeline& source, const RawRecord& rec, const Row& row,
                  EventTime t) override {
    Event e = Base("accepted", rec);
    AppendAcceptedJson(e.json, source, rec, row, t);
    e.t = t;
    events.push_back(std::move(e));
  }
  void OnLate(const SourcePipeline& source, const RawRecord& rec, const Row& row, EventTime t,
              const WatermarkTracker::Admission& a) override {
    Event e = Base("late", rec);
    AppendLateJson(e.json, source, rec, row, t, a);
    e.t = t;
    e.admission = a;
    events.push_back(std::move(e));
  }
  void OnDeadLetter(const SourcePipeline& source, const RawRecord& rec,
                    const DecodeError& err) override {
    Event e = Base("dead", rec);
    AppendDeadLetterJson(e.json, source, rec, err, "loc:" + std::to_string(rec.offset.value() + 1));
    e.code = std::string(err.code);
    e.field = err.field;
    e.message = err.message;
    events.push_back(std::move(e));
  }

  std::vector<std::string> Kinds() const {
    std::vector<std::string> k;
    for (const Event& e : events) k.push_back(e.kind);
    return k;
  }

  std::vector<Event> events;

 private:
  static Event Base(std::string kind, const RawRecord& rec) {
    Event e;
    e.kind = std::move(kind);
    e.partition = rec.partition.value();
    e.offset = rec.offset.value();
    return e;
  }
};

class SourcePipelineTest : public ::testing::Test {
 protected:
  void Init(const SourceSpec& spec, int partitions = 1, ProcessingTime now = At(0)) {
    spec_ = spec;
    auto p = SourcePipeline::Create(spec_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(p).value();
    pipeline_->Attach(partitions, now);
  }

  // Feeds one record as a source would: padded, with (partition, offset).
  void Feed(std::string_view bytes, int partition = 0, ProcessingTime now = At(0),
            bool is_header = false) {
    buffers_.emplace_back(bytes);
    buffers_.back().append(kRecordPadding, ' ');
    RawRecord rec;
    rec.partition = Partition(partition);
    rec.offset = Offset(next_offset_[partition]++);
    rec.bytes = std::string_view(buffers_.back().data(), bytes.size());
    rec.size = bytes.size();
    rec.is_header = is_header;
    pipeline_->Process(rec, now, handler_);
  }
  // A JSON record {"id","user","amount","ts"}.
  void Tx(std::string id, int64_t ts, int partition = 0, ProcessingTime now = At(0),
          double amount = 1) {
    Feed("{\"id\":\"" + id + "\",\"user\":\"u\",\"amount\":" + std::to_string(amount) +
             ",\"ts\":" + std::to_string(ts) + "}",
         partition, now);
  }

  const FakeHandler::Event& Last() const { return handler_.events.back(); }

  SourceSpec spec_;
  std::unique_ptr<SourcePipeline> pipeline_;
  FakeHandler handler_;
  std::deque<std::string> buffers_;
  std::map<int, int64_t> next_offset_;
};

TEST_F(SourcePipelineTest, OutcomesAreCountedAndReported) {
  Init(JsonSpec());
  Tx("a", 100);
  Feed(R"({"id":"b","user":"u","amount":"x","ts":100})");
  Feed("");
  Feed("  \t ");
  Feed(R"({"id":"c","user":"u","ts":101})");
  Feed(R"({"id":"d","amount":1,"ts":101})");
  Feed("{\"id\":\"e\",\"user\":\"\xFF\",\"ts\":101}");
  Feed(R"({"id":"f","user":"u","amount":1})");
  const SourceCounters& c = pipeline_->counters();
  EXPECT_EQ(c.records, 8u);
  EXPECT_EQ(c.accepted, 2u);
  EXPECT_EQ(c.dead_letter, 4u);
  EXPECT_EQ(c.blank, 2u) << "blank and whitespace-only lines are counted, not dead-lettered";
  EXPECT_EQ(c.late, 0u);
  EXPECT_EQ(handler_.Kinds(),
            (std::vector<std::string>{"accepted", "dead", "accepted", "dead", "dead", "dead"}));
  const auto& ev = handler_.events;
  EXPECT_EQ(ev[1].code, "wrong_type");
  EXPECT_EQ(ev[1].field, "amount");
  EXPECT_EQ(ev[1].offset, 1);
  EXPECT_EQ(ev[3].code, "missing_required") << "the key is implicitly required";
  EXPECT_EQ(ev[3].field, "user");
  EXPECT_EQ(ev[4].code, "invalid_utf8");
  EXPECT_EQ(ev[5].code, "missing_required");
  EXPECT_EQ(ev[5].field, "ts");
  // Dead letters by code.
  std::map<std::string, uint64_t> errors;
  for (const auto& [code, n] : c.errors) errors[std::string(code)] = n;
  EXPECT_EQ(errors, (std::map<std::string, uint64_t>{
                        {"wrong_type", 1}, {"missing_required", 2}, {"invalid_utf8", 1}}));
}

TEST_F(SourcePipelineTest, AcceptedJson) {
  Init(JsonSpec());
  Feed(R"({"ts":1714564800.25,"amount":10,"user":"u\"1","id":"a","extra":[1]})");
  ASSERT_EQ(handler_.Kinds(), std::vector<std::string>{"accepted"});
  EXPECT_EQ(Last().json,
            R"({"source":"tx","partition":0,"offset":0,"event_time":"2024-05-01T12:00:00.250Z",)"
            R"("key":"u\"1","id":"a","record":{"id":"a","user":"u\"1","amount":10,)"
            R"("ts":"2024-05-01T12:00:00.250Z"}})");
}

TEST_F(SourcePipelineTest, CompositeKeyIsAnArrayAndNoKeyIsNull) {
  SourceSpec spec = JsonSpec();
  spec.key_fields = {"user", "id"};
  Init(spec);
  Tx("a", 100);
  EXPECT_EQ(JsonSubsetDiff(R"({"key":["u","a"]})", Last().json), "") << Last().json;
  spec.key_fields.clear();
  spec.id_field.clear();
  Init(spec);
  Tx("a", 100);
  EXPECT_EQ(JsonSubsetDiff(R"({"key":null})", Last().json), "") << Last().json;
  EXPECT_EQ(Last().json.find("\"id\":\"a\",\"record\""), std::string::npos)
      << "no top-level id without an id field: " << Last().json;
}

TEST_F(SourcePipelineTest, DeadLetterJsonKeepsTheOriginalBytes) {
  Init(JsonSpec());
  Feed(R"({"id":"b","user":"u","amount":"x","ts":100})");
  EXPECT_EQ(JsonSubsetDiff(R"({"source":"tx","partition":0,"offset":0,"location":"loc:1",)"
                           R"("error":"wrong_type","field":"amount",)"
                           R"("raw":"{\"id\":\"b\",\"user\":\"u\",\"amount\":\"x\",\"ts\":100}"})",
                           Last().json),
            "")
      << Last().json;
  EXPECT_NE(Last().json.find("\"reason\":\"field 'amount'"), std::string::npos) << Last().json;
  EXPECT_EQ(Last().json.find("raw_base64"), std::string::npos);
  EXPECT_EQ(Last().json.find("truncated"), std::string::npos);

  Feed("{\"id\":\"\xFF\xFE\"}");
  EXPECT_EQ(JsonSubsetDiff(R"({"offset":1,"error":"invalid_utf8","raw_base64":"eyJpZCI6Iv/+In0="})",
                           Last().json),
            "")
      << Last().json;
  EXPECT_EQ(Last().json.find("\"raw\""), std::string::npos);
}

TEST_F(SourcePipelineTest, TruncatedRecordIsTooLarge) {
  SourceSpec spec = JsonSpec();
  spec.max_record_bytes = 1000;
  Init(spec);
  buffers_.emplace_back(std::string(64 * 1024, 'x') + std::string(kRecordPadding, ' '));
  RawRecord rec;
  rec.partition = Partition(0);
  rec.offset = Offset(7);
  rec.bytes = std::string_view(buffers_.back().data(), 64 * 1024);
  rec.size = 10 << 20;
  rec.truncated = true;
  pipeline_->Process(rec, At(0), handler_);
  ASSERT_EQ(handler_.Kinds(), std::vector<std::string>{"dead"});
  EXPECT_EQ(Last().code, "too_large");
  EXPECT_NE(Last().message.find("10485760 bytes"), std::string::npos) << Last().message;
  EXPECT_NE(Last().message.find("(1000)"), std::string::npos) << Last().message;
  EXPECT_NE(Last().message.find("first 65536 bytes"), std::string::npos) << Last().message;
  EXPECT_EQ(JsonSubsetDiff(R"({"offset":7,"error":"too_large","size":10485760,"truncated":true})",
                           Last().json),
            "")
      << Last().json.substr(0, 300);
  EXPECT_NE(Last().json.find("\"raw\":\"xxxx"), std::string::npos);
  Tx("a", 1);
  EXPECT_EQ(Last().kind, "accepted") << "the pipeline goes on";
}

TEST_F(SourcePipelineTest, LateRecordsGoToTheLateOutput) {
  SourceSpec spec = JsonSpec();
  spec.watermark.max_out_of_orderness = Duration::Seconds(5);
  spec.watermark.allowed_lateness = Duration::Seconds(2);
  Init(spec);
  Tx("a", 1714564800);  // watermark :55
  Tx("b", 1714564797);  // out of order within the bound
  Tx("c", 1714564793);  // exactly watermark - allowed_lateness: on time
  Tx("d", 1714564792);  // late by 3s
  Tx("e", 1714564810);  // watermark :05
  ASSERT_EQ(handler_.Kinds(),
            (std::vector<std::string>{"accepted", "accepted", "accepted", "late", "accepted"}));
  const auto& late = handler_.events[3];
  EXPECT_EQ(late.admission.watermark, Watermark(Sec(1714564795)));
  EXPECT_EQ(late.admission.lateness, Duration::Seconds(3));
  EXPECT_EQ(JsonSubsetDiff(R"({"offset":3,"id":"d","event_time":"2024-05-01T11:59:52Z",)"
                           R"("watermark":"2024-05-01T11:59:55Z","lateness_ms":3000})",
                           late.json),
            "")
      << late.json;
  EXPECT_EQ(pipeline_->counters().late, 1u);
  EXPECT_EQ(pipeline_->counters().accepted, 4u);
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(1714564805)));
}

TEST_F(SourcePipelineTest, DeadLetteredRecordsDoNotMoveTheWatermark) {
  Init(JsonSpec());
  Tx("a", 100);
  Feed(R"({"id":"b","user":"u","amount":"x","ts":1000})");
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(100)));
  Tx("c", 200);
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(200)));
}

TEST_F(SourcePipelineTest, WatermarkIsMinimumOverPartitionsWithIdleness) {
  SourceSpec spec = JsonSpec();
  spec.watermark.idle_timeout = Duration::Seconds(30);
  Init(spec, 2, At(0));
  Tx("a", 100, 0, At(1));
  EXPECT_TRUE(pipeline_->watermark().is_min()) << "partition 1 never spoke";
  Tx("b", 50, 1, At(2));
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(50)));
  Tx("c", 200, 0, At(10));
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(50)));
  EXPECT_FALSE(pipeline_->Tick(At(31)));
  EXPECT_TRUE(pipeline_->Tick(At(32)));  // partition 1 silent for 30s
  EXPECT_TRUE(pipeline_->tracker().is_idle(Partition(1)));
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(200)));
  // It rejoins with an old record: late, and the watermark does not go back.
  Tx("d", 60, 1, At(33));
  EXPECT_EQ(Last().kind, "late");
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(200)));
  EXPECT_FALSE(pipeline_->tracker().is_idle(Partition(1)));
  Tx("e", 300, 0, At(34));
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(200))) << "partition 1 holds it again";
  Tx("f", 250, 1, At(35));
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(250)));
  pipeline_->EndPartition(Partition(1));
  EXPECT_EQ(pipeline_->watermark(), Watermark(Sec(300)));
  pipeline_->EndPartition(Partition(0));
  EXPECT_TRUE(pipeline_->watermark().is_end_of_time());
}

TEST_F(SourcePipelineTest, FilterCountsFilteredRecords) {
  SourceSpec spec = JsonSpec();
  spec.filter = "amount > 5 and user != \"test\"";
  Init(spec);
  Feed(R"({"id":"a","user":"u","amount":10,"ts":1})");
  Feed(R"({"id":"b","user":"u","amount":1,"ts":2})");
  Feed(R"({"id":"c","user":"test","amount":10,"ts":3})");
  Feed(R"({"id":"d","user":"u","ts":4})");  // amount null: the filter is null
  Feed(R"({"id":"e","user":"u","amount":6,"ts":5})");
  ASSERT_EQ(handler_.Kinds(), (std::vector<std::string>{"accepted", "accepted"}));
  EXPECT_NE(handler_.events[0].json.find("\"id\":\"a\""), std::string::npos);
  EXPECT_NE(handler_.events[1].json.find("\"id\":\"e\""), std::string::npos);
  EXPECT_EQ(pipeline_->counters().filtered, 3u);
  EXPECT_EQ(pipeline_->counters().accepted, 2u);
  EXPECT_EQ(pipeline_->counters().dead_letter, 0u);
}

TEST_F(SourcePipelineTest, FilterSeesTimestampsAsEpochSeconds) {
  SourceSpec spec = JsonSpec();
  spec.filter = "ts >= 1714564800.5";
  Init(spec);
  Feed(R"({"id":"a","user":"u","ts":1714564800.25})");
  Feed(R"({"id":"b","user":"u","ts":1714564800.5})");
  ASSERT_EQ(handler_.Kinds(), (std::vector<std::string>{"accepted"}));
  EXPECT_NE(Last().json.find("\"id\":\"b\""), std::string::npos);
}

TEST_F(SourcePipelineTest, FilterErrorsNameTheOption) {
  SourceSpec spec = JsonSpec();
  spec.filter = "amount + 1";
  spec.filter_where = ConfigLocation{"p.yaml", 7, 13};
  auto p = SourcePipeline::Create(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("p.yaml:7:13"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("true or false"), std::string::npos) << p.status().message();
  spec.filter = "amout > 1";
  p = SourcePipeline::Create(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("amout"), std::string::npos) << p.status().message();
}

SourceSpec CsvSpec() {
  SourceSpec s = JsonSpec();
  s.format = SourceFormat::kCsv;
  s.path = "tx.csv";
  return s;
}

TEST_F(SourcePipelineTest, CsvHeaderPerPartition) {
  Init(CsvSpec(), 2);
  // Each file has its own header, with its own column order.
  Feed("id,user,amount,ts", 0, At(0), true);
  Feed("ts,amount,user,id", 1, At(0), true);
  Feed("a,u,1.5,100", 0);
  Feed("200,2.5,v,b", 1);
  Feed("c,u,\"3\",\"101\"", 0);
  ASSERT_EQ(handler_.Kinds(), (std::vector<std::string>{"accepted", "accepted", "accepted"}));
  EXPECT_EQ(
      JsonSubsetDiff(R"({"partition":0,"offset":1,"key":"u","id":"a","record":{"amount":1.5}})",
                     handler_.events[0].json),
      "")
      << handler_.events[0].json;
  EXPECT_EQ(
      JsonSubsetDiff(R"({"partition":1,"offset":1,"key":"v","id":"b","record":{"amount":2.5}})",
                     handler_.events[1].json),
      "")
      << handler_.events[1].json;
  EXPECT_EQ(pipeline_->counters().headers, 2u);
  EXPECT_EQ(pipeline_->counters().records, 5u);
  EXPECT_EQ(pipeline_->counters().accepted, 3u);
}

TEST_F(SourcePipelineTest, CsvBadHeaderIsDeadLetteredAndRejectsTheRows) {
  Init(CsvSpec());
  Feed("id,user,id,ts", 0, At(0), true);
  Feed("a,u,b,100");
  ASSERT_EQ(handler_.Kinds(), (std::vector<std::string>{"dead", "dead"}));
  EXPECT_EQ(handler_.events[0].code, "bad_header");
  EXPECT_EQ(handler_.events[0].offset, 0);
  EXPECT_EQ(handler_.events[1].code, "bad_header");
  EXPECT_EQ(pipeline_->counters().dead_letter, 2u);
}

TEST_F(SourcePipelineTest, CsvTooLargeHeaderRejectsTheRowsWithTheReason) {
  // Regression: a truncated header was read as a header (from its prefix)
  // instead of being dead-lettered as too large.
  SourceSpec spec = CsvSpec();
  spec.max_record_bytes = 10;
  Init(spec);
  buffers_.emplace_back("id,user,amount,ts" + std::string(kRecordPadding, ' '));
  RawRecord rec;
  rec.partition = Partition(0);
  rec.offset = Offset(0);
  rec.bytes = std::string_view(buffers_.back().data(), 10);
  rec.size = 17;
  rec.truncated = true;
  rec.is_header = true;
  pipeline_->Process(rec, At(0), handler_);
  next_offset_[0] = 1;
  Feed("a,u,1");
  ASSERT_EQ(handler_.Kinds(), (std::vector<std::string>{"dead", "dead"}));
  EXPECT_EQ(handler_.events[0].code, "too_large");
  EXPECT_NE(handler_.events[0].message.find("header is 17 bytes"), std::string::npos)
      << handler_.events[0].message;
  EXPECT_EQ(handler_.events[1].code, "bad_header");
  EXPECT_NE(handler_.events[1].message.find("17 bytes"), std::string::npos)
      << handler_.events[1].message;
  EXPECT_EQ(pipeline_->counters().headers, 1u);
}

// ---- End to end through a real FileSource ----

struct RunResult {
  FakeHandler handler;
  SourceCounters counters;
  Watermark watermark;
};

RunResult RunFile(const SourceSpec& spec) {
  RunResult out;
  auto pipeline = SourcePipeline::Create(spec);
  EXPECT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  auto source = MakeFileSource(spec);
  Status s = source->Open();
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok() || !pipeline.ok()) return out;
  (*pipeline)->Attach(source->num_partitions(), At(0));
  PollBatch batch;
  while (!source->AtEnd()) {
    s = source->Poll(1024, Duration::Zero(), batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) break;
    for (const RawRecord& r : batch.records) (*pipeline)->Process(r, At(0), out.handler);
    for (Partition p : batch.ended) (*pipeline)->EndPartition(p);
  }
  out.counters = (*pipeline)->counters();
  out.watermark = (*pipeline)->watermark();
  return out;
}

TEST(SourcePipelineFileTest, TenMegabyteJsonLineAcceptedUnderTheDefaultLimit) {
  TempDir dir;
  std::string note(10 << 20, 'n');
  WriteFile(dir.File("tx.jsonl"), "{\"id\":\"a\",\"user\":\"u\",\"ts\":1}\n{\"id\":\"" + note +
                                      "\",\"user\":\"u\",\"ts\":2}\n"
                                      "{\"id\":\"c\",\"user\":\"u\",\"ts\":3}\n");
  SourceSpec spec = JsonSpec();
  spec.path = dir.File("tx.jsonl");
  RunResult r = RunFile(spec);
  ASSERT_EQ(r.handler.Kinds(), (std::vector<std::string>{"accepted", "accepted", "accepted"}));
  EXPECT_EQ(r.handler.events[1].offset, 1);
  EXPECT_GT(r.handler.events[1].json.size(), 10u << 20);
  EXPECT_EQ(r.handler.events[2].offset, 2);
  EXPECT_TRUE(r.watermark.is_end_of_time());
}

TEST(SourcePipelineFileTest, TenMegabyteLinesTooLargeUnderASmallerLimit) {
  TempDir dir;
  std::string note(10 << 20, 'n');
  std::string big = "{\"id\":\"" + note + "\",\"user\":\"u\",\"ts\":2}";
  WriteFile(dir.File("tx.jsonl"), "{\"id\":\"a\",\"user\":\"u\",\"ts\":1}\n" + big + "\n" + big +
                                      "\n\n{\"id\":\"c\",\"user\":\"u\",\"ts\":3}\n");
  SourceSpec spec = JsonSpec();
  spec.path = dir.File("tx.jsonl");
  spec.max_record_bytes = 1 << 20;
  RunResult r = RunFile(spec);
  ASSERT_EQ(r.handler.Kinds(), (std::vector<std::string>{"accepted", "dead", "dead", "accepted"}));
  for (int i : {1, 2}) {
    const auto& dead = r.handler.events[i];
    EXPECT_EQ(dead.code, "too_large");
    EXPECT_EQ(dead.offset, i);
    EXPECT_EQ(JsonSubsetDiff("{\"size\":" + std::to_string(big.size()) + ",\"truncated\":true}",
                             dead.json),
              "");
    EXPECT_NE(dead.json.find("\"raw\":\"{\\\"id\\\":\\\"nnnn"), std::string::npos);
    EXPECT_LT(dead.json.size(), 70u * 1024) << "only the 64 KiB prefix is kept";
  }
  EXPECT_EQ(r.handler.events[3].offset, 4);
  EXPECT_EQ(r.counters.blank, 1u);
  EXPECT_EQ(r.counters.records, 5u);
}

TEST(SourcePipelineFileTest, TenMegabyteCsvRowTooLargeUnderASmallerLimit) {
  TempDir dir;
  std::string note;
  for (int i = 0; i < 10; ++i) note += std::string(1 << 20, 'n') + "\n";
  WriteFile(dir.File("tx.csv"), "id,user,ts\na,u,1\n\"" + note + "\",u,2\nc,u,3\n\"x\ny\",u,4\n");
  SourceSpec spec = CsvSpec();
  spec.path = dir.File("tx.csv");
  spec.max_record_bytes = 1 << 20;
  RunResult r = RunFile(spec);
  ASSERT_EQ(r.handler.Kinds(),
            (std::vector<std::string>{"accepted", "dead", "accepted", "accepted"}));
  EXPECT_EQ(r.handler.events[0].offset, 1);
  EXPECT_EQ(r.handler.events[1].code, "too_large");
  EXPECT_EQ(r.handler.events[1].offset, 2);
  EXPECT_EQ(r.handler.events[2].offset, 13) << "the big row spans 11 lines";
  EXPECT_EQ(JsonSubsetDiff(R"({"id":"c"})", r.handler.events[2].json), "");
  EXPECT_EQ(r.handler.events[3].offset, 14);
  EXPECT_EQ(JsonSubsetDiff(R"({"id":"x\ny"})", r.handler.events[3].json), "");
  EXPECT_EQ(r.counters.headers, 1u);
}

}  // namespace
}  // namespace eddy
