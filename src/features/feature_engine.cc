#include "features/feature_engine.h"

#include <algorithm>
#include <set>

#include "base/coding.h"
#include "base/strings.h"
#include "features/expr_binding.h"

namespace eddy {
namespace {

ExprType FieldExprType(FieldType t) {
  switch (t) {
    case FieldType::kString:
      return ExprType::kString;
    case FieldType::kInt:
      return ExprType::kInt;
    case FieldType::kDouble:
      return ExprType::kDouble;
    case FieldType::kBool:
      return ExprType::kBool;
    case FieldType::kTimestamp:
      return ExprType::kDouble;
  }
  return ExprType::kNull;
}

// The expression type of a feature value produced by an aggregation.
ExprType AggExprType(AggKind kind, FieldType field_type) {
  switch (kind) {
    case AggKind::kCount:
    case AggKind::kCountDistinct:
      return ExprType::kInt;
    case AggKind::kLast:
      // Timestamps come out of `last` as ISO-8601 strings.
      return field_type == FieldType::kTimestamp ? ExprType::kString : FieldExprType(field_type);
    case AggKind::kTopK:
      return ExprType::kNull;  // a list: not an expression value
    default:
      return ExprType::kDouble;
  }
}

void AppendKeyText(const Row& row, size_t i, std::string& out) {
  const Value& v = row[i];
  switch (v.kind()) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kBool:
      out.append(v.bool_value() ? "true" : "false");
      break;
    case Value::Kind::kInt:
      AppendInt(out, v.int_value());
      break;
    case Value::Kind::kDouble:
      AppendDouble(out, v.double_value());
      break;
    case Value::Kind::kString:
      out.append(row.GetString(i));
      break;
    case Value::Kind::kTimestamp:
      AppendIso8601(out, v.timestamp_value());
      break;
  }
}

void ExprToFeature(const ExprValue& v, FeatureValue& out) {
  switch (v.type) {
    case ExprType::kNull:
      out.SetNull();
      return;
    case ExprType::kBool:
      out.SetBool(v.b);
      return;
    case ExprType::kInt:
      out.SetInt(v.i);
      return;
    case ExprType::kDouble:
      out.SetDouble(v.d);
      return;
    case ExprType::kString:
      out.SetString(v.s);
      return;
  }
}

bool AnyNull(const Row& row, const std::vector<int>& fields) {
  for (int f : fields) {
    if (row[static_cast<size_t>(f)].is_null()) return true;
  }
  return false;
}

}  // namespace

std::string_view AggKindName(AggKind kind) {
  switch (kind) {
    case AggKind::kCount:
      return "count";
    case AggKind::kSum:
      return "sum";
    case AggKind::kMean:
      return "mean";
    case AggKind::kMin:
      return "min";
    case AggKind::kMax:
      return "max";
    case AggKind::kVariance:
      return "variance";
    case AggKind::kStddev:
      return "stddev";
    case AggKind::kCountDistinct:
      return "count_distinct";
    case AggKind::kQuantile:
      return "quantile";
    case AggKind::kLast:
      return "last";
    case AggKind::kTopK:
      return "top_k";
    case AggKind::kDecayedSum:
      return "decayed_sum";
  }
  return "?";
}

std::string_view WindowKindName(WindowKind kind) {
  switch (kind) {
    case WindowKind::kAsOf:
      return "as_of";
    case WindowKind::kTumbling:
      return "tumbling";
    case WindowKind::kHopping:
      return "hopping";
    case WindowKind::kSession:
      return "session";
  }
  return "?";
}

FeatureEngine::~FeatureEngine() = default;

std::string FeatureEngine::EncodeKeyParts(const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  std::string out;
  for (const std::string& p : parts) StrAppend(out, p.size(), ":", p);
  return out;
}

std::vector<std::string> FeatureEngine::group_feature_names(size_t g) const {
  for (const SourcePlan& plan : sources_) {
    for (const AsOfRef& ref : plan.asof) {
      if (static_cast<size_t>(ref.group) != g) continue;
      size_t count = ref.num_aggs + ref.derived.size();
      for (const Join& j : ref.joins) count += j.fields.size();
      return std::vector<std::string>(
          plan.names.begin() + static_cast<ptrdiff_t>(ref.offset),
          plan.names.begin() + static_cast<ptrdiff_t>(ref.offset + count));
    }
  }
  return {};
}

std::vector<ExprVariable> FeatureEngine::feature_variables(size_t s) const {
  std::vector<ExprVariable> vars;
  const SourcePlan& plan = sources_[s];
  for (size_t i = 0; i < plan.names.size(); ++i)
    vars.push_back({plan.names[i], plan.name_types[i]});
  return vars;
}

// One line of FeatureEngine::state_plan(): what a group's state depends on
// (the fields it keeps with their types, its windows and aggregations), and
// nothing it does not (derived features, outputs, TTLs, schema fields it
// does not read).
static std::string StatePlanLine(const FeatureGroupSpec& g, const Schema& schema,
                                 const std::vector<int>& key) {
  auto field = [&](std::string_view name) -> std::string {
    const int i = schema.Lookup(name);
    return i < 0 ? std::string(name)
                 : StrCat(name, ":", FieldTypeName(schema.field(static_cast<size_t>(i)).type));
  };
  std::string line = StrCat("group ", Quote(g.name), " on ", Quote(g.source), " key");
  for (int k : key) {
    const FieldSpec& f = schema.field(static_cast<size_t>(k));
    StrAppend(line, " ", f.name, ":", FieldTypeName(f.type));
  }
  if (g.table) {
    StrAppend(line, " table");
    for (const std::string& f : g.table_fields) StrAppend(line, " ", field(f));
    return StrCat(line, "\n");
  }
  StrAppend(line, " window ", WindowKindName(g.window.kind), " ", FormatDuration(g.window.size),
            " ", FormatDuration(g.window.slide), " ", FormatDuration(g.window.gap));
  for (const AggregationSpec& a : g.aggregations) {
    StrAppend(line, " | ", a.name, "=", AggKindName(a.kind), "(",
              a.field.empty() ? "*" : field(a.field), ") over ", FormatDuration(a.window), " by ",
              FormatDuration(a.granularity));
    if (a.kind == AggKind::kQuantile) StrAppend(line, " q ", a.quantile);
    if (a.kind == AggKind::kTopK) StrAppend(line, " k ", a.k);
    if (a.kind == AggKind::kDecayedSum) StrAppend(line, " half-life ", FormatDuration(a.half_life));
  }
  return StrCat(line, "\n");
}

Result<std::unique_ptr<FeatureEngine>> FeatureEngine::Create(
    const PipelineSpec& spec, const std::vector<const Schema*>& schemas) {
  std::unique_ptr<FeatureEngine> fe(new FeatureEngine());
  fe->sources_.resize(spec.sources.size());
  for (size_t s = 0; s < spec.sources.size(); ++s) {
    fe->sources_[s].schema = schemas[s];
    fe->sources_[s].allowed_lateness = spec.sources[s].watermark.allowed_lateness;
  }
  std::vector<std::string> source_names;
  for (const SourceSpec& s : spec.sources) source_names.push_back(s.name);
  std::vector<std::string> table_names;

  // Tables first, so that joins can refer to tables declared after them.
  for (int pass = 0; pass < 2; ++pass) {
    for (const FeatureGroupSpec& g : spec.features) {
      if ((pass == 0) != g.table) continue;
      auto fail = [&](std::string_view msg) {
        return Status::InvalidArgument(
            StrCat(g.where, ": feature group ", Quote(g.name), ": ", msg));
      };
      int s = -1;
      for (size_t i = 0; i < spec.sources.size(); ++i) {
        if (spec.sources[i].name == g.source) s = static_cast<int>(i);
      }
      if (s < 0) {
        std::string suggestion = SuggestName(g.source, source_names);
        return fail(
            StrCat("unknown source ", Quote(g.source),
                   suggestion.empty() ? "" : StrCat(" (did you mean ", Quote(suggestion), "?)")));
      }
      const SourceSpec& src = spec.sources[static_cast<size_t>(s)];
      const Schema& schema = *schemas[static_cast<size_t>(s)];
      SourcePlan& plan = fe->sources_[static_cast<size_t>(s)];
      std::vector<int> key;
      for (const std::string& k : g.key.empty() ? src.key_fields : g.key) {
        int idx = schema.Lookup(k);
        if (idx < 0) return fail(StrCat("unknown key field ", Quote(k)));
        key.push_back(idx);
      }
      if (key.empty()) {
        return fail(StrCat("needs a key: set `key` on the group or on source ", Quote(src.name)));
      }
      fe->state_plan_ += StatePlanLine(g, schema, key);
      if (g.table) {
        EDDY_ASSIGN_OR_RETURN(auto table, KeyedTable::Create(g, src, schema));
        plan.tables.push_back({static_cast<int>(fe->tables_.size()), key});
        fe->tables_.push_back(std::move(table));
        table_names.push_back(g.name);
        continue;
      }
      if (g.window.kind != WindowKind::kAsOf) {
        if (!g.joins.empty() || !g.derived.empty()) {
          return fail("joins and derived features belong to per-event (as-of) groups");
        }
        EDDY_ASSIGN_OR_RETURN(auto wg, WindowGroup::Create(g, src, schema));
        plan.windows.push_back({static_cast<int>(fe->windows_.size()), key});
        fe->windows_.push_back(std::move(wg));
        fe->window_specs_.push_back(g);
        continue;
      }
      EDDY_ASSIGN_OR_RETURN(auto group, AsOfGroup::Create(g, src, schema));
      AsOfRef ref;
      ref.group = static_cast<int>(fe->asof_.size());
      ref.key = key;
      ref.offset = plan.names.size();
      ref.num_aggs = group->num_outputs();
      fe->asof_.push_back(std::move(group));
      // Variables derived expressions may use: fields, then features so far.
      std::vector<ExprVariable> vars = FieldVariables(src);
      auto add_feature = [&](const std::string& name, ExprType type) -> Status {
        for (const std::string& n : plan.names) {
          if (n == name)
            return fail(
                StrCat("feature ", Quote(name), " is defined twice for source ", Quote(src.name)));
        }
        if (schema.Lookup(name) >= 0) {
          return fail(StrCat("feature ", Quote(name), " has the name of a field of source ",
                             Quote(src.name), "; rename it"));
        }
        if (name == "source" || name == "id" || name == "key" || name == "event_time") {
          return fail(StrCat(Quote(name), " is reserved in feature rows; rename the feature"));
        }
        plan.names.push_back(name);
        return Status::OK();
      };
      // Expression variables for the features already in the row.
      auto feature_vars = [&]() {
        std::vector<ExprVariable> all = vars;
        for (size_t i = 0; i < plan.names.size(); ++i) {
          if (plan.name_types[i] != ExprType::kNull)
            all.push_back({plan.names[i], plan.name_types[i]});
        }
        return all;
      };
      for (const AggregationSpec& a : g.aggregations) {
        FieldType ft = FieldType::kString;
        if (!a.field.empty()) ft = schema.field(static_cast<size_t>(schema.Lookup(a.field))).type;
        EDDY_RETURN_IF_ERROR(add_feature(a.name, ExprType::kNull));
        plan.name_types.push_back(AggExprType(a.kind, ft));
      }
      for (const JoinSpec& j : g.joins) {
        auto jfail = [&](std::string_view msg) {
          return Status::InvalidArgument(StrCat(j.where, ": feature group ", Quote(g.name),
                                                ", join ", Quote(j.table), ": ", msg));
        };
        int t = -1;
        for (size_t i = 0; i < table_names.size(); ++i) {
          if (table_names[i] == j.table) t = static_cast<int>(i);
        }
        if (t < 0) {
          std::string suggestion = SuggestName(j.table, table_names);
          return jfail(
              StrCat("no table group named ", Quote(j.table),
                     suggestion.empty() ? "" : StrCat(" (did you mean ", Quote(suggestion), "?)")));
        }
        const KeyedTable& table = *fe->tables_[static_cast<size_t>(t)];
        Join join;
        join.table = t;
        std::vector<std::string> on = j.on.empty() ? src.key_fields : j.on;
        for (const std::string& f : on) {
          int idx = schema.Lookup(f);
          if (idx < 0) return jfail(StrCat("unknown field ", Quote(f), " in `on`"));
          join.on.push_back(idx);
        }
        if (join.on.size() != table.key_arity()) {
          return jfail(StrCat("`on` has ", join.on.size(), " field(s) but the table key has ",
                              table.key_arity()));
        }
        std::vector<std::string> fields = j.fields.empty() ? table.field_names() : j.fields;
        for (const std::string& f : fields) {
          int idx = table.FieldIndex(f);
          if (idx < 0) {
            return jfail(StrCat("the table has no field ", Quote(f), "; it keeps ",
                                StrJoin(table.field_names(), ", ")));
          }
          join.fields.push_back(idx);
          FieldType ft = table.field_type(static_cast<size_t>(idx));
          EDDY_RETURN_IF_ERROR(add_feature(j.prefix + f, ExprType::kNull));
          plan.name_types.push_back(ft == FieldType::kTimestamp ? ExprType::kString
                                                                : FieldExprType(ft));
        }
        ref.joins.push_back(std::move(join));
        if (std::find(plan.joined_tables.begin(), plan.joined_tables.end(), t) ==
            plan.joined_tables.end()) {
          plan.joined_tables.push_back(t);
        }
      }
      for (const DerivedSpec& d : g.derived) {
        std::vector<ExprVariable> all = feature_vars();
        auto e = Expression::Compile(d.expr, all);
        if (!e.ok()) {
          return Status::InvalidArgument(StrCat(d.where, ": feature group ", Quote(g.name),
                                                ", derived ", Quote(d.name), ": ",
                                                e.status().message()));
        }
        Derived derived{std::move(e).value(), {}};
        // Map variable indices back to row fields / features.
        for (size_t i = 0; i < all.size(); ++i) {
          if (i < vars.size()) {
            derived.vars.push_back(static_cast<int>(i));
          } else {
            // The i-th non-list feature.
            size_t seen = 0;
            for (size_t f = 0; f < plan.names.size(); ++f) {
              if (plan.name_types[f] == ExprType::kNull) continue;
              if (seen++ == i - vars.size()) {
                derived.vars.push_back(-static_cast<int>(f) - 1);
                break;
              }
            }
          }
        }
        ExprType rt = derived.expr.result_type();
        EDDY_RETURN_IF_ERROR(add_feature(d.name, ExprType::kNull));
        plan.name_types.push_back(rt);
        ref.derived.push_back(std::move(derived));
      }
      plan.asof.push_back(std::move(ref));
    }
  }
  fe->table_horizons_.assign(fe->tables_.size(),
                             std::vector<EventTime>(spec.sources.size(), EventTime::Max()));
  for (size_t s = 0; s < fe->sources_.size(); ++s) {
    for (int t : fe->sources_[s].joined_tables) {
      fe->table_horizons_[static_cast<size_t>(t)][s] = EventTime::Min();
    }
  }
  return fe;
}

void FeatureEngine::EncodeKey(const Row& row, const std::vector<int>& fields,
                              std::string& out) const {
  out.clear();
  if (fields.size() == 1) {
    AppendKeyText(row, static_cast<size_t>(fields[0]), out);
    return;
  }
  std::string part;
  for (int f : fields) {
    part.clear();
    AppendKeyText(row, static_cast<size_t>(f), part);
    StrAppend(out, part.size(), ":", part);
  }
}

void FeatureEngine::EncodeKeyJson(const Row& row, const std::vector<int>& fields,
                                  std::string& out) const {
  out.clear();
  if (fields.size() == 1) {
    AppendValueJson(out, row, static_cast<size_t>(fields[0]));
    return;
  }
  out.push_back('[');
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendValueJson(out, row, static_cast<size_t>(fields[i]));
  }
  out.push_back(']');
}

void FeatureEngine::OnEvent(size_t s, EventTime t, const Row& row,
                            std::vector<FeatureValue>& values, WindowSink& sink) {
  SourcePlan& plan = sources_[s];
  values.resize(plan.names.size());
  for (const KeyedRef& ref : plan.tables) {
    if (AnyNull(row, ref.key)) continue;
    EncodeKey(row, ref.key, key_);
    tables_[static_cast<size_t>(ref.index)]->OnEvent(key_, t, row);
  }
  slices_.clear();
  for (const AsOfRef& ref : plan.asof) {
    std::span<FeatureValue> out(values.data() + ref.offset, ref.num_aggs);
    if (AnyNull(row, ref.key)) {
      for (FeatureValue& v : out) v.SetNull();
    } else {
      EncodeKey(row, ref.key, key_);
      asof_[static_cast<size_t>(ref.group)]->OnEvent(key_, t, row, out);
      size_t count = ref.num_aggs + ref.derived.size();
      for (const Join& j : ref.joins) count += j.fields.size();
      slices_.push_back({static_cast<size_t>(ref.group), ref.offset, count, key_});
    }
    size_t next = ref.offset + ref.num_aggs;
    for (const Join& j : ref.joins) {
      std::span<FeatureValue> jout(values.data() + next, j.fields.size());
      if (AnyNull(row, j.on)) {
        for (FeatureValue& v : jout) v.SetNull();
      } else {
        EncodeKey(row, j.on, key_);
        tables_[static_cast<size_t>(j.table)]->Lookup(key_, t, j.fields, jout);
      }
      next += j.fields.size();
    }
    for (const Derived& d : ref.derived) {
      expr_values_.resize(d.vars.size());
      for (size_t i = 0; i < d.vars.size(); ++i) {
        int v = d.vars[i];
        if (v >= 0) {
          expr_values_[i] = FieldToExpr(row, static_cast<size_t>(v));
        } else {
          expr_values_[i] = values[static_cast<size_t>(-v - 1)].ToExpr();
        }
      }
      ExprToFeature(d.expr.Evaluate(expr_values_), values[next++]);
    }
  }
  for (const KeyedRef& ref : plan.windows) {
    if (AnyNull(row, ref.key)) continue;
    EncodeKey(row, ref.key, key_);
    EncodeKeyJson(row, ref.key, key_json_);
    windows_[static_cast<size_t>(ref.index)]->OnEvent(key_, key_json_, t, row, sink);
  }
}

void FeatureEngine::SaveState(std::string& out) const {
  std::string part;
  PutVarint64(out, asof_.size());
  for (const auto& g : asof_) {
    part.clear();
    g->SaveState(part);
    PutString(out, part);
  }
  PutVarint64(out, windows_.size());
  for (const auto& g : windows_) {
    part.clear();
    g->SaveState(part);
    PutString(out, part);
  }
  PutVarint64(out, tables_.size());
  for (const auto& t : tables_) {
    part.clear();
    t->SaveState(part);
    PutString(out, part);
  }
  for (const auto& h : table_horizons_) {
    for (EventTime t : h) PutSigned(out, t.micros());
  }
}

Status FeatureEngine::RestoreState(std::string_view bytes) {
  ByteReader in(bytes, "feature engine checkpoint");
  auto restore_all = [&](auto& items) -> Status {
    uint64_t n;
    if (!in.Varint64(n)) return in.status();
    if (n != items.size()) {
      return Status::FailedPrecondition(
          "the pipeline's feature groups changed since the checkpoint; run with --fresh");
    }
    for (auto& item : items) {
      std::string_view part;
      if (!in.String(part)) return in.status();
      EDDY_RETURN_IF_ERROR(item->RestoreState(part));
    }
    return Status::OK();
  };
  EDDY_RETURN_IF_ERROR(restore_all(asof_));
  EDDY_RETURN_IF_ERROR(restore_all(windows_));
  EDDY_RETURN_IF_ERROR(restore_all(tables_));
  for (auto& h : table_horizons_) {
    for (EventTime& t : h) {
      int64_t v;
      if (!in.Signed(v)) return in.status();
      t = EventTime::FromMicros(v);
    }
  }
  if (!in.at_end()) return Status::Corruption("trailing bytes in the feature engine checkpoint");
  return Status::OK();
}

void FeatureEngine::OnWatermark(size_t s, Watermark wm, WindowSink& sink) {
  SourcePlan& plan = sources_[s];
  for (const AsOfRef& ref : plan.asof) asof_[static_cast<size_t>(ref.group)]->OnWatermark(wm);
  for (const KeyedRef& ref : plan.windows) {
    windows_[static_cast<size_t>(ref.index)]->OnWatermark(wm, sink);
  }
  EventTime horizon = wm.is_end_of_time() ? EventTime::Max() : wm.time() - plan.allowed_lateness;
  for (int t : plan.joined_tables) {
    auto& h = table_horizons_[static_cast<size_t>(t)];
    h[s] = horizon;
    tables_[static_cast<size_t>(t)]->SetHorizon(*std::min_element(h.begin(), h.end()));
  }
}

std::vector<FeatureEngine::GroupInfo> FeatureEngine::group_infos(size_t s) const {
  std::vector<GroupInfo> out;
  for (const AsOfRef& ref : sources_[s].asof) {
    size_t count = ref.num_aggs + ref.derived.size();
    for (const Join& j : ref.joins) count += j.fields.size();
    out.push_back({static_cast<size_t>(ref.group), ref.offset, count, ref.key});
  }
  return out;
}

void FeatureEngine::RecomputeDerived(size_t s, std::span<const ExprValue> fields,
                                     std::vector<FeatureValue>& values) const {
  std::vector<ExprValue> vars;
  for (const AsOfRef& ref : sources_[s].asof) {
    size_t next = ref.offset + ref.num_aggs;
    for (const Join& j : ref.joins) next += j.fields.size();
    for (const Derived& d : ref.derived) {
      vars.resize(d.vars.size());
      for (size_t i = 0; i < d.vars.size(); ++i) {
        int v = d.vars[i];
        vars[i] =
            v >= 0 ? fields[static_cast<size_t>(v)] : values[static_cast<size_t>(-v - 1)].ToExpr();
      }
      ExprToFeature(d.expr.Evaluate(vars), values[next++]);
    }
  }
}

}  // namespace eddy
