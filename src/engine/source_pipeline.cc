#include "engine/source_pipeline.h"

#include "base/coding.h"
#include "base/strings.h"
#include "features/expr_binding.h"

namespace eddy {

void SourceCounters::CountError(std::string_view code) {
  for (auto& e : errors) {
    if (e.first == code) {
      ++e.second;
      return;
    }
  }
  errors.emplace_back(code, 1);
}

std::vector<ExprVariable> SourcePipeline::FieldVariables(const SourceSpec& spec) {
  return eddy::FieldVariables(spec);
}

Result<std::unique_ptr<SourcePipeline>> SourcePipeline::Create(const SourceSpec& spec) {
  if (spec.format == SourceFormat::kJsonLines) EDDY_RETURN_IF_ERROR(CheckJsonSupport());
  auto schema = Schema::Create(spec);
  if (!schema.ok()) return schema.status().WithContext(spec.where.ToString());
  std::unique_ptr<SourcePipeline> p(new SourcePipeline(spec, std::move(schema).value()));
  if (!spec.filter.empty()) {
    auto vars = FieldVariables(spec);
    auto e = Expression::Compile(spec.filter, vars);
    if (!e.ok()) {
      return Status::InvalidArgument(StrCat(spec.filter_where.ToString(), ": source ",
                                            Quote(spec.name), ".filter: ", e.status().message()));
    }
    if (e->result_type() != ExprType::kBool && e->result_type() != ExprType::kNull) {
      return Status::InvalidArgument(
          StrCat(spec.filter_where.ToString(), ": source ", Quote(spec.name),
                 ".filter: a filter must be true or false, but this expression gives ",
                 ExprTypeName(e->result_type())));
    }
    p->filter_values_.resize(vars.size());
    p->filter_.emplace(std::move(e).value());
  }
  return p;
}

SourcePipeline::SourcePipeline(const SourceSpec& spec, Schema schema)
    : spec_(spec), schema_(std::move(schema)) {}

void SourcePipeline::Attach(int num_partitions, ProcessingTime now) {
  decoders_.clear();
  for (int i = 0; i < num_partitions; ++i) decoders_.push_back(MakeDecoder(spec_, schema_));
  tracker_ = std::make_unique<WatermarkTracker>(spec_.watermark, num_partitions, now);
}

bool SourcePipeline::PassesFilter(const Row& row) {
  for (int idx : filter_->referenced_variables()) {
    filter_values_[static_cast<size_t>(idx)] = FieldToExpr(row, static_cast<size_t>(idx));
  }
  return filter_->Evaluate(filter_values_).IsTrue();
}

void SourcePipeline::Process(const RawRecord& rec, ProcessingTime now, RecordHandler& handler) {
  ++counters_.records;
  Decoder& decoder = *decoders_[static_cast<size_t>(rec.partition.value())];
  if (rec.is_header) ++counters_.headers;
  if (rec.truncated) {
    err_.Set("too_large", "",
             StrCat(rec.is_header ? "header" : "record", " is ", rec.size,
                    " bytes, more than max_record_bytes (", spec_.max_record_bytes,
                    "); the dead letter holds its first ", rec.bytes.size(), " bytes"));
    // A cut header is no header: the partition's rows say why they fail.
    if (rec.is_header) decoder.RejectHeader(err_);
    ++counters_.dead_letter;
    counters_.CountError(err_.code);
    handler.OnDeadLetter(*this, rec, err_);
    return;
  }
  if (rec.is_header) {
    if (!decoder.ReadHeader(rec.bytes, err_)) {
      ++counters_.dead_letter;
      counters_.CountError(err_.code);
      handler.OnDeadLetter(*this, rec, err_);
    }
    return;
  }
  if (Trim(rec.bytes).empty()) {
    ++counters_.blank;
    return;
  }
  if (!decoder.Decode(rec.bytes, row_, err_) || !schema_.Check(row_, err_)) {
    ++counters_.dead_letter;
    counters_.CountError(err_.code);
    handler.OnDeadLetter(*this, rec, err_);
    return;
  }
  EventTime t = row_[static_cast<size_t>(schema_.event_time_index())].timestamp_value();
  WatermarkTracker::Admission a = tracker_->Admit(rec.partition, t, now);
  if (a.late) {
    ++counters_.late;
    handler.OnLate(*this, rec, row_, t, a);
    return;
  }
  if (filter_ && !PassesFilter(row_)) {
    ++counters_.filtered;
  } else {
    ++counters_.accepted;
    handler.OnAccepted(*this, rec, row_, t);
  }
  // The record may have moved the watermark; report it after the record, so
  // windows it closes never depend on where a poll batch happened to end.
  ReportWatermark(handler);
}

void SourcePipeline::ReportWatermark(RecordHandler& handler) {
  Watermark wm = tracker_->current();
  if (wm > reported_) {
    reported_ = wm;
    handler.OnWatermark(*this, wm);
  }
}

void SourcePipeline::EndPartition(Partition p, RecordHandler& handler) {
  tracker_->EndPartition(p);
  ReportWatermark(handler);
}

void SourcePipeline::Tick(ProcessingTime now, RecordHandler& handler) {
  tracker_->Tick(now);
  ReportWatermark(handler);
}

namespace {

// Error codes are static strings; a restored count is attached to this
// build's string for the same code.
std::string_view CanonicalCode(std::string_view code) {
  static constexpr std::string_view kCodes[] = {
      "invalid_json",  "invalid_utf8", "not_an_object", "duplicate_field", "unknown_field",
      "wrong_type",    "out_of_range", "not_finite",    "not_allowed",     "missing_required",
      "bad_timestamp", "too_large",    "csv_columns",   "csv_quote",       "bad_header"};
  for (std::string_view c : kCodes) {
    if (c == code) return c;
  }
  return "other";
}

}  // namespace

void SourcePipeline::SaveState(std::string& out) const {
  const SourceCounters& c = counters_;
  for (uint64_t v :
       {c.records, c.bytes, c.accepted, c.late, c.dead_letter, c.filtered, c.blank, c.headers}) {
    PutVarint64(out, v);
  }
  PutVarint64(out, c.errors.size());
  for (const auto& [code, n] : c.errors) {
    PutString(out, code);
    PutVarint64(out, n);
  }
  PutSigned(out, reported_.time().micros());
  std::string tracker;
  tracker_->SaveState(tracker);
  PutString(out, tracker);
  PutVarint64(out, decoders_.size());
  std::string d;
  for (const auto& decoder : decoders_) {
    d.clear();
    decoder->SaveState(d);
    PutString(out, d);
  }
}

Status SourcePipeline::RestoreState(std::string_view bytes, ProcessingTime now) {
  // ByteReader keeps a view of its description: it must outlive the reader.
  const std::string what = StrCat("checkpoint of source ", Quote(spec_.name));
  ByteReader in(bytes, what);
  SourceCounters c;
  for (uint64_t* v : {&c.records, &c.bytes, &c.accepted, &c.late, &c.dead_letter, &c.filtered,
                      &c.blank, &c.headers}) {
    if (!in.Varint64(*v)) return in.status();
  }
  uint64_t n;
  if (!in.Varint64(n)) return in.status();
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view code;
    uint64_t count;
    if (!in.String(code) || !in.Varint64(count)) return in.status();
    c.errors.emplace_back(CanonicalCode(code), count);
  }
  int64_t reported;
  std::string_view tracker;
  if (!in.Signed(reported) || !in.String(tracker)) return in.status();
  EDDY_RETURN_IF_ERROR(tracker_->RestoreState(tracker, now));
  uint64_t num_decoders;
  if (!in.Varint64(num_decoders)) return in.status();
  if (num_decoders != decoders_.size()) {
    return Status::FailedPrecondition("the checkpoint has another number of partitions");
  }
  for (auto& decoder : decoders_) {
    std::string_view d;
    if (!in.String(d)) return in.status();
    EDDY_RETURN_IF_ERROR(decoder->RestoreState(d));
  }
  counters_ = std::move(c);
  reported_ = Watermark(EventTime::FromMicros(reported));
  return Status::OK();
}

}  // namespace eddy
