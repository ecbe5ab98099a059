#include "config/options.h"

#include "base/check.h"
#include "base/strings.h"

namespace eddy {
namespace {

// ---- The option table. Add an option here and nowhere else. ----

constexpr OptionSpec kPipelineOptions[] = {
    {"version", OptionType::kInt, false, "1", "",
     "Version of the pipeline-file format. Only 1 exists; files that omit it are version 1."},
    {"name", OptionType::kString, false, "", "",
     "A name for the pipeline, shown in progress output and summaries. Defaults to the file "
     "name without extension."},
    {"sources", OptionType::kSectionList, true, "", "source",
     "The inputs of the pipeline. At least one."},
    {"features", OptionType::kSectionList, false, "", "feature",
     "Feature groups: per-event (as-of) window aggregations, emitted tumbling/hopping/session "
     "windows, and keyed tables for enrichment. See docs/concepts/features.md."},
    {"models", OptionType::kSectionList, false, "", "model",
     "Models that score a source's events in the stream: tree ensembles and linear models "
     "from files or the registry, and online learners that learn from feedback."},
    {"feedback", OptionType::kSection, false, "", "feedback",
     "Labels that arrive later, joined to logged predictions by event id: they train online "
     "learners and drive quality metrics."},
    {"serving", OptionType::kSection, false, "", "serving",
     "The HTTP API inside `eddy run`: ingest, features, predict, feedback, the Open Inference "
     "Protocol, admin, /metrics. See docs/reference/http-api.md."},
    {"state", OptionType::kSection, false, "", "state",
     "Durable state: the embedded online store, the offline history and checkpoints. Without "
     "this section the online store is in memory, no history is kept and no checkpoints are "
     "taken."},
    {"outputs", OptionType::kSection, true, "", "outputs",
     "Where accepted, late and dead-letter records and feature rows go."},
};

constexpr OptionSpec kModelOptions[] = {
    {"name", OptionType::kString, true, "", "",
     "Name of the model in prediction rows, metrics and serving."},
    {"source", OptionType::kString, true, "", "", "The source whose accepted events are scored."},
    {"path", OptionType::kPath, false, "", "",
     "A model file (XGBoost JSON, LightGBM text, eddy.linear JSON or an online snapshot). "
     "One of `path`, `registry` or `online`."},
    {"registry", OptionType::kPath, false, "", "",
     "A model registry directory (see `eddy model`); the model is `registry_name` there."},
    {"registry_name", OptionType::kString, false, "", "",
     "The model's name in the registry. Defaults to `name`."},
    {"version", OptionType::kString, false, "live", "",
     "Registry version to load: `live` or a number."},
    {"online", OptionType::kSection, false, "", "online",
     "Makes this an online learner that starts empty and learns from `feedback`."},
    {"inputs", OptionType::kMap, false, "", "",
     "Model input name -> expression over the event's fields and features. Inputs not listed "
     "take the field or feature of the same name."},
    {"encode", OptionType::kMap, false, "", "",
     "Categorical inputs of tree models: input name -> list of values; a value becomes its "
     "index in the list (unlisted or null values are missing)."},
    {"missing", OptionType::kEnum, false, "default", "default|skip",
     "An input that is null: `default` scores with `defaults` (missing = NaN, which tree "
     "models route by their default direction), `skip` does not score the event (counted)."},
    {"defaults", OptionType::kMap, false, "", "",
     "Input name -> number used when the input is null, under `missing: default`."},
    {"filter", OptionType::kExpression, false, "", "", "Only events passing it are scored."},
    {"threshold", OptionType::kNumber, false, "0.5", "",
     "A classifier's decision is score >= threshold (positive class probability)."},
    {"output", OptionType::kOutput, false, "", "",
     "Prediction rows: event id, key, model, version, score(s), decision."},
};

constexpr OptionSpec kOnlineOptions[] = {
    {"task", OptionType::kEnum, false, "binary", "binary|regression",
     "`binary`: logistic regression (log loss); `regression`: linear regression (squared "
     "error)."},
    {"numeric", OptionType::kStringList, false, "", "",
     "Numeric inputs (fields, features or names from `inputs`)."},
    {"hashed", OptionType::kStringList, false, "", "",
     "String fields or features hashed into the weight vector (feature hashing)."},
    {"options", OptionType::kMap, false, "", "",
     "Learner options (optimizer, learning_rate, l1, l2, ftrl_alpha, ftrl_beta, hash_bits, "
     "standardize, ...): docs/reference/models.md."},
};

constexpr OptionSpec kFeedbackOptions[] = {
    {"source", OptionType::kString, true, "", "",
     "The source of labels. Its event time is when the label became known."},
    {"id", OptionType::kString, false, "", "",
     "The labels' field holding the predicted event's id. Defaults to the source's `id`."},
    {"label", OptionType::kString, true, "", "", "The label field (bool, int or double)."},
    {"horizon", OptionType::kDuration, false, "30d", "",
     "A label more than this after its prediction's event time is too late: counted and "
     "written to `unmatched`, not learned from."},
    {"metrics_window", OptionType::kInt, false, "10000", "",
     "Rolling quality metrics cover the last this-many labelled predictions (and since start)."},
    {"unmatched", OptionType::kOutput, false, "", "",
     "Labels that never matched a prediction, or came after the horizon, with the reason."},
};

constexpr OptionSpec kServingOptions[] = {
    {"address", OptionType::kString, false, "127.0.0.1", "", "Address to listen on."},
    {"port", OptionType::kInt, false, "8080", "",
     "TCP port; 0 picks a free one (see `port_file`)."},
    {"port_file", OptionType::kPath, false, "", "",
     "Where to write the bound port once listening (for scripts using port 0)."},
    {"threads", OptionType::kInt, false, "2", "", "Server threads (event loop and handlers)."},
    {"auth", OptionType::kBool, false, "true", "",
     "Require API tokens (Authorization: Bearer ...) with roles ingest, read, predict, admin "
     "on every endpoint except /healthz. Tokens come from `tokens` and $EDDY_API_TOKENS."},
    {"tokens", OptionType::kPath, false, "", "",
     "A file of API tokens, one `token role[,role...] name` per line "
     "(docs/operations/security.md)."},
    {"tls_cert", OptionType::kPath, false, "", "",
     "PEM certificate chain; with `tls_key`, serves HTTPS."},
    {"tls_key", OptionType::kPath, false, "", "", "PEM private key of `tls_cert`."},
    {"max_body_bytes", OptionType::kBytes, false, "4MiB", "",
     "Largest request body accepted (413 beyond)."},
    {"audit_log", OptionType::kPath, false, "", "",
     "Append-only JSON lines of every prediction (inputs, model version, output) and every "
     "admin action with its caller."},
    {"public_metrics", OptionType::kBool, false, "false", "",
     "Serve /metrics and /readyz without a token (for scrapers and probes)."},
};

constexpr OptionSpec kStateOptions[] = {
    {"dir", OptionType::kPath, false, "state", "",
     "Directory for the state: `online/` (the online store), `history/` (the offline "
     "history) and `checkpoints/`."},
    {"online_store", OptionType::kEnum, false, "rocksdb", "rocksdb|memory",
     "`rocksdb`: embedded, survives restarts, with an in-memory cache in front. `memory`: "
     "lost at exit."},
    {"cache_entries", OptionType::kInt, false, "1000000", "",
     "Feature vectors kept in the in-memory cache in front of RocksDB."},
    {"history", OptionType::kBool, false, "true", "",
     "Keep the offline history of every feature vector (for exports and training sets)."},
    {"availability", OptionType::kEnum, false, "processing_time", "processing_time|event_time",
     "The availability time recorded in the history: when Eddy computed the vector "
     "(`processing_time`), or its event time (`event_time`, for backfills replaying old data "
     "as if features were available immediately)."},
    {"checkpoint_interval", OptionType::kDuration, false, "1m", "",
     "Processing time between checkpoints of all state with the source offsets. `0s` "
     "disables periodic checkpoints (one is still taken at a clean stop)."},
    {"checkpoints_kept", OptionType::kInt, false, "3", "",
     "How many complete checkpoints to keep (at least 1)."},
};

constexpr OptionSpec kFeatureOptions[] = {
    {"name", OptionType::kString, true, "", "",
     "Unique name of the group (letters, digits, underscores)."},
    {"source", OptionType::kString, true, "", "",
     "The source whose accepted events feed the group."},
    {"key", OptionType::kStringList, false, "", "",
     "Field(s) the group is keyed by. Defaults to the source's key. Events with a null key "
     "field do not feed the group (their features from it are null)."},
    {"window", OptionType::kSection, false, "", "window",
     "Makes this an emitted-window group (tumbling, hopping or session): one row per key and "
     "window, written to `output`. Without it the group is per-event: every aggregation has "
     "its own `window` and every event gets a row."},
    {"aggregations", OptionType::kSectionList, false, "", "aggregation",
     "The aggregations the group computes, in output order."},
    {"join", OptionType::kSectionList, false, "", "join",
     "Per-event groups: fields brought in from table groups, as of the event's time."},
    {"derived", OptionType::kSectionList, false, "", "derived",
     "Per-event groups: features computed by expressions over the event's fields and the "
     "features before them in the row."},
    {"table", OptionType::kSection, false, "", "table",
     "Makes this a keyed table: the latest `fields` per key, versioned by event time, that "
     "other groups join."},
    {"output", OptionType::kOutput, false, "", "",
     "Emitted-window groups: where rows go (one JSON object per key and window)."},
    {"ttl", OptionType::kDuration, false, "", "",
     "Per-event groups: how long a key's latest vector stays fresh in the online store (by its "
     "event time against the clock). Older reads are stale. Default: never stale. Training "
     "sets use it too."},
    {"stale", OptionType::kEnum, false, "flag", "reject|default|flag",
     "What a stale or missing read serves by default (requests may override): `reject` fails "
     "the read, `default` serves `defaults`, `flag` serves the stored values marked stale."},
    {"defaults", OptionType::kMap, false, "", "",
     "Per-event groups: default values by feature name, served under `stale: default` (a "
     "map of feature name to a scalar; features not listed default to null)."},
};

constexpr OptionSpec kAggregationOptions[] = {
    {"name", OptionType::kString, true, "", "",
     "The feature's name, unique among the source's features."},
    {"fn", OptionType::kEnum, true, "",
     "count|sum|mean|min|max|variance|stddev|count_distinct|quantile|last|top_k|decayed_sum",
     "The aggregation. `count` counts events (or non-null values of `field`); `variance` and "
     "`stddev` are sample statistics (null with fewer than 2 values); `count_distinct` is "
     "exact; `quantile` is a DDSketch estimate within 1% relative error; `last` is the latest "
     "non-null value; `top_k` lists the k most frequent values; `decayed_sum` weights each "
     "value by 2^(-age/half_life). Null inputs are skipped."},
    {"field", OptionType::kString, false, "", "",
     "The input field. Required except for `count`. Numeric aggregations need an int, double, "
     "bool or timestamp field (timestamps as epoch seconds)."},
    {"window", OptionType::kDuration, false, "", "",
     "Per-event groups: the window length w; the aggregation covers the key's events with "
     "event time in [t - w, t]. Required there; not allowed in emitted-window groups."},
    {"granularity", OptionType::kDuration, false, "0s", "",
     "Per-event groups: aggregate in tiles of this size to bound memory for hot keys. The "
     "window then starts at the tile boundary at or before t - w, and the tile holding t may "
     "include events with a later time. `0s` is exact."},
    {"q", OptionType::kNumber, false, "", "", "`quantile`: the quantile, in [0, 1] (e.g. 0.99)."},
    {"k", OptionType::kInt, false, "", "", "`top_k`: how many values (at least 1)."},
    {"half_life", OptionType::kDuration, false, "", "", "`decayed_sum`: the half-life."},
};

constexpr OptionSpec kJoinOptions[] = {
    {"table", OptionType::kString, true, "", "", "The table group to read."},
    {"on", OptionType::kStringList, false, "", "",
     "The event's field(s) that give the table key, in the table key's order. Defaults to the "
     "source's key."},
    {"fields", OptionType::kStringList, false, "", "",
     "Table fields to bring in. Defaults to every field the table keeps."},
    {"prefix", OptionType::kString, false, "", "",
     "Prepended to the joined fields' names in the feature row."},
};

constexpr OptionSpec kDerivedOptions[] = {
    {"name", OptionType::kString, true, "", "", "The feature's name."},
    {"expr", OptionType::kExpression, true, "", "",
     "An expression over the event's fields and the features before it in the row, e.g. "
     "`if(amount_std_7d > 0, (amount - amount_mean_7d) / amount_std_7d, null)`."},
};

constexpr OptionSpec kWindowOptions[] = {
    {"type", OptionType::kEnum, true, "", "tumbling|hopping|session",
     "`tumbling`: [start, start + size), epoch-aligned. `hopping`: windows of `size` every "
     "`slide`. `session`: events closer than `gap` form one session."},
    {"size", OptionType::kDuration, false, "", "", "`tumbling`, `hopping`: the window length."},
    {"slide", OptionType::kDuration, false, "", "", "`hopping`: the distance between starts."},
    {"gap", OptionType::kDuration, false, "", "", "`session`: the inactivity gap."},
};

constexpr OptionSpec kTableOptions[] = {
    {"fields", OptionType::kStringList, true, "", "", "The fields kept per key."},
};

constexpr OptionSpec kOutputFileOptions[] = {
    {"path", OptionType::kPath, true, "", "", "A file, `-` (standard output) or `stderr`."},
    {"format", OptionType::kEnum, false, "jsonl", "jsonl|csv",
     "`jsonl`: one JSON object per line. `csv`: a header row, then one row per record."},
};

constexpr OptionSpec kSourceOptions[] = {
    {"name", OptionType::kString, true, "", "",
     "Unique name of the source, used in outputs, metrics and references from other sections. "
     "Letters, digits and underscores."},
    {"type", OptionType::kEnum, false, "file", "file|http",
     "`file`: read `path` (a file, a directory, or stdin). `http`: records arrive through the "
     "HTTP API (POST /v1/sources/<name>/events) and are appended to the event log at `path`, "
     "which the pipeline reads as it grows: checkpoints, restarts and `eddy replay` work on it "
     "as on a file. Needs a `serving` section."},
    {"format", OptionType::kEnum, true, "", "jsonl|csv",
     "Record format. `jsonl`: one JSON object per line. `csv`: RFC 4180 with a header row; "
     "quoted fields may hold delimiters, quotes (doubled) and newlines."},
    {"path", OptionType::kPath, true, "", "",
     "A file, a directory (every regular file in it whose name does not start with `.`, in "
     "name order, each file one partition), or `-` for standard input."},
    {"schema", OptionType::kSection, true, "", "schema", "The fields of a record and their rules."},
    {"event_time", OptionType::kString, true, "", "",
     "Name of the timestamp field that gives each record its event time. The field must be "
     "declared with `type: timestamp`; a record without it is dead-lettered."},
    {"key", OptionType::kStringList, false, "", "",
     "Field, or list of fields, that identifies the entity a record is about (user, card, "
     "machine). Key fields must be non-null in every accepted record."},
    {"id", OptionType::kString, false, "", "",
     "Field holding a unique id of the record (transaction id). Outputs carry it, and later "
     "feedback is joined on it."},
    {"watermark", OptionType::kSection, false, "", "watermark",
     "Event-time progress and lateness. See docs/concepts/event-time.md."},
    {"filter", OptionType::kExpression, false, "", "",
     "Only records for which this expression is true are passed on; others are counted as "
     "filtered. A null result counts as false. Example: `amount > 0 and channel != \"test\"`."},
    {"max_record_bytes", OptionType::kBytes, false, "16MiB", "",
     "Longest record accepted. A longer one is dead-lettered with its first 64 KiB and its "
     "size; it is never buffered whole."},
    {"csv", OptionType::kSection, false, "", "csv", "CSV dialect, for `format: csv`."},
};

constexpr OptionSpec kSchemaOptions[] = {
    {"fields", OptionType::kSectionList, true, "", "field", "The declared fields, in order."},
    {"unknown_fields", OptionType::kEnum, false, "ignore", "ignore|reject",
     "What to do with a field that is not declared: `ignore` it, or `reject` the record to "
     "the dead-letter output."},
};

constexpr OptionSpec kFieldOptions[] = {
    {"name", OptionType::kString, true, "", "", "Field name as it appears in the record."},
    {"type", OptionType::kEnum, true, "", "string|int|double|bool|timestamp",
     "`int` is a 64-bit integer (a JSON number without fraction or exponent); `double` accepts "
     "any finite number (NaN and infinities are rejected); `bool` is true/false (CSV also "
     "accepts 1/0); `timestamp` is read according to `format`."},
    {"required", OptionType::kBool, false, "false", "",
     "A record without this field, or with null, is dead-lettered. Otherwise a missing field is "
     "null."},
    {"format", OptionType::kEnum, false, "iso8601", "iso8601|epoch_seconds|epoch_millis",
     "Timestamp fields only. `iso8601`: a string with a UTC offset, like "
     "`2024-05-01T12:00:00.250Z` or `2024-05-01T14:00:00+02:00`. `epoch_seconds` and "
     "`epoch_millis`: a number (fractions allowed), in JSON or CSV."},
    {"min", OptionType::kNumber, false, "", "",
     "Numeric fields only: values below are dead-lettered."},
    {"max", OptionType::kNumber, false, "", "",
     "Numeric fields only: values above are dead-lettered."},
    {"allowed", OptionType::kScalarList, false, "", "",
     "String and int fields only: the only values accepted."},
};

constexpr OptionSpec kWatermarkOptions[] = {
    {"max_out_of_orderness", OptionType::kDuration, false, "0s", "",
     "How far behind the newest event of a partition a record may be and still be in order. "
     "Partition watermark = highest event time seen - max_out_of_orderness."},
    {"allowed_lateness", OptionType::kDuration, false, "0s", "",
     "A record with event time below watermark - allowed_lateness (the watermark as it stood "
     "before the record) is late: it goes to the late output and changes no state."},
    {"idle_timeout", OptionType::kDuration, false, "1m", "",
     "A partition with no record for this long (processing time) stops holding the source "
     "watermark back, and rejoins when it speaks again. `0s` disables idleness."},
};

constexpr OptionSpec kCsvOptions[] = {
    {"delimiter", OptionType::kChar, false, ",", "", "Field separator, one character."},
    {"quote", OptionType::kChar, false, "\"", "", "Quote character, one character."},
};

constexpr OptionSpec kOutputsOptions[] = {
    {"accepted", OptionType::kOutput, false, "", "",
     "Accepted records, one JSON object per line, normalised to the schema's types. Omit to "
     "not write them."},
    {"features", OptionType::kOutput, false, "", "",
     "Per-event feature rows: for every accepted event of a source with per-event groups, its "
     "id, key, event time and every feature by name, in input order."},
    {"late", OptionType::kOutput, true, "", "",
     "Late records, with the watermark they were late against and by how much."},
    {"dead_letter", OptionType::kOutput, true, "", "",
     "Records that failed decoding or the schema, with the original bytes and the reason."},
};

constexpr SectionSpec kSections[] = {
    {"pipeline", "(top level)", "The pipeline file itself.", kPipelineOptions},
    {"source", "sources[]", "One input of the pipeline.", kSourceOptions},
    {"schema", "sources[].schema", "The shape of a source's records.", kSchemaOptions},
    {"field", "sources[].schema.fields[]", "One declared field.", kFieldOptions},
    {"watermark", "sources[].watermark", "Event time and lateness of a source.", kWatermarkOptions},
    {"csv", "sources[].csv", "CSV dialect.", kCsvOptions},
    {"feature", "features[]", "A feature group.", kFeatureOptions},
    {"aggregation", "features[].aggregations[]", "One aggregation of a feature group.",
     kAggregationOptions},
    {"join", "features[].join[]", "An enrichment join with a table group.", kJoinOptions},
    {"derived", "features[].derived[]", "A feature computed by an expression.", kDerivedOptions},
    {"window", "features[].window", "The window of an emitted-window group.", kWindowOptions},
    {"table", "features[].table", "A keyed table group.", kTableOptions},
    {"model", "models[]", "A model scoring a source's events.", kModelOptions},
    {"online", "models[].online", "An online learner.", kOnlineOptions},
    {"feedback", "feedback", "Delayed labels.", kFeedbackOptions},
    {"serving", "serving", "The HTTP API.", kServingOptions},
    {"state", "state", "Durable state of the pipeline.", kStateOptions},
    {"outputs", "outputs",
     "Where records go. Each value is a path (relative to the pipeline file's directory), `-` "
     "for standard output, or `stderr`; or a map `{path: ..., format: jsonl|csv}`. Files are "
     "truncated when a run starts.",
     kOutputsOptions},
    {"output", "(any output as a map)", "An output with options.", kOutputFileOptions},
};

}  // namespace

std::string_view OptionTypeName(OptionType type) {
  switch (type) {
    case OptionType::kString:
      return "string";
    case OptionType::kInt:
      return "integer";
    case OptionType::kNumber:
      return "number";
    case OptionType::kBool:
      return "boolean";
    case OptionType::kDuration:
      return "duration";
    case OptionType::kBytes:
      return "byte size";
    case OptionType::kEnum:
      return "one of";
    case OptionType::kPath:
      return "path";
    case OptionType::kExpression:
      return "expression";
    case OptionType::kStringList:
      return "string or list of strings";
    case OptionType::kScalarList:
      return "list";
    case OptionType::kChar:
      return "character";
    case OptionType::kSection:
      return "section";
    case OptionType::kSectionList:
      return "list of sections";
    case OptionType::kOutput:
      return "path or {path, format}";
    case OptionType::kMap:
      return "map of name to value";
  }
  return "?";
}

const OptionSpec* SectionSpec::FindOption(std::string_view key) const {
  for (const OptionSpec& o : options) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

const OptionSpec& SectionSpec::Option(std::string_view key) const {
  const OptionSpec* o = FindOption(key);
  EDDY_CHECK(o != nullptr) << "option '" << key << "' is not declared in section '" << id << "'";
  return *o;
}

std::span<const SectionSpec> AllSections() { return kSections; }

const SectionSpec& Section(std::string_view id) {
  for (const SectionSpec& s : kSections) {
    if (s.id == id) return s;
  }
  EDDY_CHECK(false) << "no section '" << id << "'";
  return kSections[0];
}

std::string GeneratePipelineReference() {
  std::string out =
      "# Pipeline file reference\n\n"
      "<!-- Generated by `eddy reference` from src/config/options.cc. Do not edit by hand: "
      "a test checks that this file matches the code. -->\n\n"
      "A pipeline file is YAML. Unknown keys are errors (with a suggestion when the key looks "
      "like a typo), so a misspelt option never silently falls back to its default. Durations "
      "are written like `500ms`, `5s`, `1m`, `1h30m`, `7d` (units us, ms, s, m, h, d, w); byte "
      "sizes like `64KiB`, `16MiB`, `1GiB` or a plain number of bytes.\n\n"
      "See `examples/` for complete files and docs/concepts/ for what the options mean.\n";
  for (const SectionSpec& s : kSections) {
    StrAppend(out, "\n## `", s.title, "`\n\n", s.doc, "\n\n");
    out += "| key | type | required | default | description |\n";
    out += "|---|---|---|---|---|\n";
    for (const OptionSpec& o : s.options) {
      std::string type(OptionTypeName(o.type));
      if (o.type == OptionType::kEnum) {
        type = "one of ";
        std::string_view c = o.choices;
        bool first = true;
        while (!c.empty()) {
          size_t bar = c.find('|');
          StrAppend(type, first ? "" : ", ", "`", c.substr(0, bar), "`");
          first = false;
          c = bar == std::string_view::npos ? "" : c.substr(bar + 1);
        }
      } else if (o.type == OptionType::kSection || o.type == OptionType::kSectionList) {
        const SectionSpec& sub = Section(o.choices);
        StrAppend(type, " (`", sub.title, "`)");
      }
      std::string def = o.default_value.empty() ? "" : StrCat("`", o.default_value, "`");
      if (o.key == "name" && s.id == "pipeline") def = "file name";
      StrAppend(out, "| `", o.key, "` | ", type, " | ", o.required ? "yes" : "no", " | ", def,
                " | ", o.doc, " |\n");
    }
  }
  return out;
}

}  // namespace eddy
