#include "engine/source_pipeline.h"

#include "base/strings.h"

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
  std::vector<ExprVariable> vars;
  for (const FieldSpec& f : spec.fields) {
    ExprType t = ExprType::kString;
    switch (f.type) {
      case FieldType::kString:
        t = ExprType::kString;
        break;
      case FieldType::kInt:
        t = ExprType::kInt;
        break;
      case FieldType::kDouble:
        t = ExprType::kDouble;
        break;
      case FieldType::kBool:
        t = ExprType::kBool;
        break;
      case FieldType::kTimestamp:
        t = ExprType::kDouble;
        break;
    }
    vars.push_back({f.name, t});
  }
  return vars;
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
    const Value& v = row[static_cast<size_t>(idx)];
    ExprValue& out = filter_values_[static_cast<size_t>(idx)];
    switch (v.kind()) {
      case Value::Kind::kNull:
        out = ExprValue::Null();
        break;
      case Value::Kind::kBool:
        out = ExprValue::Bool(v.bool_value());
        break;
      case Value::Kind::kInt:
        out = ExprValue::Int(v.int_value());
        break;
      case Value::Kind::kDouble:
        out = ExprValue::Double(v.double_value());
        break;
      case Value::Kind::kTimestamp:
        out = ExprValue::Double(v.AsDouble());
        break;
      case Value::Kind::kString:
        out = ExprValue::String(row.GetString(static_cast<size_t>(idx)));
        break;
    }
  }
  return filter_->Evaluate(filter_values_).IsTrue();
}

void SourcePipeline::Process(const RawRecord& rec, ProcessingTime now, RecordHandler& handler) {
  ++counters_.records;
  Decoder& decoder = *decoders_[static_cast<size_t>(rec.partition.value())];
  if (rec.is_header) {
    ++counters_.headers;
    if (!decoder.ReadHeader(rec.bytes, err_)) {
      ++counters_.dead_letter;
      counters_.CountError(err_.code);
      handler.OnDeadLetter(*this, rec, err_);
    }
    return;
  }
  if (rec.truncated) {
    err_.Set("too_large", "",
             StrCat("record is ", rec.size, " bytes, more than max_record_bytes (",
                    spec_.max_record_bytes, "); the dead letter holds its first ", rec.bytes.size(),
                    " bytes"));
    ++counters_.dead_letter;
    counters_.CountError(err_.code);
    handler.OnDeadLetter(*this, rec, err_);
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
    return;
  }
  ++counters_.accepted;
  handler.OnAccepted(*this, rec, row_, t);
}

}  // namespace eddy
