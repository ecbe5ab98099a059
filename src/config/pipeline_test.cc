#include "config/pipeline.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "config/options.h"
#include "test_util.h"

namespace eddy {
namespace {

using ::eddy::testing::SplitLines;

// A small valid file; tests that need an error change one line of it.
constexpr char kMinimal[] = R"(sources:
  - name: s
    format: jsonl
    path: in.jsonl
    event_time: ts
    schema:
      fields:
        - name: ts
          type: timestamp
outputs:
  late: late.jsonl
  dead_letter: dead.jsonl
)";

Result<PipelineSpec> Parse(std::string_view yaml) { return ParsePipeline(yaml, "p.yaml", "/base"); }

PipelineSpec ParseOk(std::string_view yaml) {
  Result<PipelineSpec> r = Parse(yaml);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : PipelineSpec{};
}

// The error lines of a file that must not parse.
std::vector<std::string> Errors(std::string_view yaml) {
  Result<PipelineSpec> r = Parse(yaml);
  EXPECT_FALSE(r.ok()) << "parsed without error:\n" << yaml;
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return SplitLines(r.status().message());
}

// The only error of a file that must not parse.
std::string Error(std::string_view yaml) {
  std::vector<std::string> errors = Errors(yaml);
  EXPECT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  return errors.empty() ? "" : errors[0];
}

// Replaces the first occurrence of `from` in kMinimal.
std::string Minimal(std::string_view from, std::string_view to) {
  std::string s = kMinimal;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// ---- Valid files ----

TEST(ParsePipelineTest, FullFileParsesIntoTheSpec) {
  PipelineSpec spec = ParseOk(R"(version: 1
name: fraud
sources:
  - name: payments
    format: jsonl
    path: data/payments.jsonl
    event_time: ts
    key: [user_id, card_id]
    id: txn_id
    filter: amount > 0 and channel != "test"
    max_record_bytes: 64KiB
    watermark:
      max_out_of_orderness: 5s
      allowed_lateness: 1m30s
      idle_timeout: 0s
    schema:
      unknown_fields: reject
      fields:
        - {name: txn_id, type: string, required: true}
        - {name: user_id, type: string, required: yes}
        - {name: card_id, type: int, allowed: [1, 2, -3]}
        - {name: amount, type: double, min: 0, max: 1e6}
        - {name: channel, type: string, allowed: [web, pos]}
        - {name: ts, type: timestamp, format: epoch_millis, required: true}
        - {name: flagged, type: bool}
  - name: clicks
    format: csv
    path: /data/clicks.csv
    event_time: t
    csv:
      delimiter: ";"
      quote: "'"
    schema:
      fields:
        - name: t
          type: timestamp
          format: epoch_seconds
outputs:
  accepted: out/accepted.jsonl
  late: "-"
  dead_letter: stderr
)");
  EXPECT_EQ(spec.version, 1);
  EXPECT_EQ(spec.name, "fraud");
  EXPECT_EQ(spec.file, "p.yaml");
  EXPECT_EQ(spec.base_dir, "/base");
  ASSERT_EQ(spec.sources.size(), 2u);

  const SourceSpec& p = spec.sources[0];
  EXPECT_EQ(p.name, "payments");
  EXPECT_EQ(p.format, SourceFormat::kJsonLines);
  EXPECT_EQ(p.path, "/base/data/payments.jsonl");
  EXPECT_EQ(p.event_time_field, "ts");
  EXPECT_EQ(p.key_fields, (std::vector<std::string>{"user_id", "card_id"}));
  EXPECT_EQ(p.id_field, "txn_id");
  EXPECT_EQ(p.filter, "amount > 0 and channel != \"test\"");
  EXPECT_EQ(p.max_record_bytes, 64u * 1024);
  EXPECT_EQ(p.watermark.max_out_of_orderness, Duration::Seconds(5));
  EXPECT_EQ(p.watermark.allowed_lateness, Duration::Seconds(90));
  EXPECT_EQ(p.watermark.idle_timeout, Duration::Zero());
  EXPECT_EQ(p.unknown_fields, UnknownFieldPolicy::kReject);
  ASSERT_EQ(p.fields.size(), 7u);
  EXPECT_EQ(p.fields[0].name, "txn_id");
  EXPECT_EQ(p.fields[0].type, FieldType::kString);
  EXPECT_TRUE(p.fields[0].required);
  EXPECT_TRUE(p.fields[1].required);
  EXPECT_EQ(p.fields[2].type, FieldType::kInt);
  EXPECT_FALSE(p.fields[2].required);
  EXPECT_EQ(p.fields[2].allowed, (std::vector<std::string>{"1", "2", "-3"}));
  EXPECT_EQ(p.fields[3].type, FieldType::kDouble);
  EXPECT_EQ(p.fields[3].min, 0.0);
  EXPECT_EQ(p.fields[3].max, 1e6);
  EXPECT_EQ(p.fields[4].allowed, (std::vector<std::string>{"web", "pos"}));
  EXPECT_FALSE(p.fields[4].min.has_value());
  EXPECT_EQ(p.fields[5].type, FieldType::kTimestamp);
  EXPECT_EQ(p.fields[5].timestamp_format, TimestampFormat::kEpochMillis);
  EXPECT_EQ(p.fields[6].type, FieldType::kBool);
  EXPECT_EQ(p.FieldIndex("amount"), 3);
  EXPECT_EQ(p.FieldIndex("nope"), -1);

  const SourceSpec& c = spec.sources[1];
  EXPECT_EQ(c.format, SourceFormat::kCsv);
  EXPECT_EQ(c.path, "/data/clicks.csv");
  EXPECT_EQ(c.csv.delimiter, ';');
  EXPECT_EQ(c.csv.quote, '\'');
  EXPECT_EQ(c.fields[0].timestamp_format, TimestampFormat::kEpochSeconds);
  EXPECT_TRUE(c.key_fields.empty());
  EXPECT_EQ(c.id_field, "");
  EXPECT_EQ(c.filter, "");

  EXPECT_EQ(spec.outputs.accepted.path, "/base/out/accepted.jsonl");
  EXPECT_EQ(spec.outputs.late.path, "-");
  EXPECT_EQ(spec.outputs.dead_letter.path, "stderr");
  EXPECT_EQ(spec.FindSource("clicks"), &spec.sources[1]);
  EXPECT_EQ(spec.FindSource("nope"), nullptr);
}

TEST(ParsePipelineTest, OmittedOptionsTakeTheirDefaults) {
  PipelineSpec spec = ParseOk(kMinimal);
  EXPECT_EQ(spec.version, 1);
  EXPECT_EQ(spec.name, "p");  // the file name without extension
  ASSERT_EQ(spec.sources.size(), 1u);
  const SourceSpec& s = spec.sources[0];
  EXPECT_EQ(s.watermark.max_out_of_orderness, Duration::Zero());
  EXPECT_EQ(s.watermark.allowed_lateness, Duration::Zero());
  EXPECT_EQ(s.watermark.idle_timeout, Duration::Minutes(1));
  EXPECT_EQ(s.max_record_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(s.unknown_fields, UnknownFieldPolicy::kIgnore);
  EXPECT_EQ(s.csv.delimiter, ',');
  EXPECT_EQ(s.csv.quote, '"');
  ASSERT_EQ(s.fields.size(), 1u);
  EXPECT_FALSE(s.fields[0].required);
  EXPECT_EQ(s.fields[0].timestamp_format, TimestampFormat::kIso8601);
  EXPECT_FALSE(s.fields[0].min.has_value());
  EXPECT_FALSE(s.fields[0].max.has_value());
  EXPECT_TRUE(s.fields[0].allowed.empty());
  EXPECT_FALSE(spec.outputs.accepted.enabled());
  EXPECT_TRUE(spec.outputs.late.enabled());
}

TEST(ParsePipelineTest, DefaultsMatchTheOptionTable) {
  // The loader reads defaults from the table; check the two agree.
  EXPECT_EQ(Section("watermark").Option("idle_timeout").default_value, "1m");
  EXPECT_EQ(Section("source").Option("max_record_bytes").default_value, "16MiB");
  EXPECT_EQ(Section("schema").Option("unknown_fields").default_value, "ignore");
  EXPECT_EQ(Section("csv").Option("delimiter").default_value, ",");
}

TEST(ParsePipelineTest, RelativePathsResolveAgainstBaseDir) {
  PipelineSpec spec = ParseOk(Minimal("path: in.jsonl", "path: ./data/../in/x.jsonl")
                                  .append("  accepted: ../out/accepted.jsonl\n"));
  EXPECT_EQ(spec.sources[0].path, "/base/in/x.jsonl");
  EXPECT_EQ(spec.outputs.late.path, "/base/late.jsonl");
  EXPECT_EQ(spec.outputs.accepted.path, "/out/accepted.jsonl");
}

TEST(ParsePipelineTest, AbsolutePathsAreKept) {
  PipelineSpec spec = ParseOk(Minimal("path: in.jsonl", "path: /srv/in.jsonl"));
  EXPECT_EQ(spec.sources[0].path, "/srv/in.jsonl");
}

TEST(ParsePipelineTest, DashMeansStandardStreams) {
  PipelineSpec spec =
      ParseOk(Minimal("path: in.jsonl", "path: \"-\"").append("  accepted: \"-\"\n"));
  EXPECT_EQ(spec.sources[0].path, "-");
  EXPECT_EQ(spec.outputs.accepted.path, "-");
}

TEST(ParsePipelineTest, KeyMayBeASingleString) {
  PipelineSpec spec = ParseOk(Minimal("    event_time: ts\n", "    event_time: ts\n    key: ts\n"));
  EXPECT_EQ(spec.sources[0].key_fields, std::vector<std::string>{"ts"});
}

TEST(ParsePipelineTest, ByteSizesWithUnits) {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  const Case cases[] = {{"100", 100},        {"100B", 100},        {"64KiB", 64 * 1024},
                        {"64K", 64 * 1024},  {"1KB", 1000},        {"1MB", 1000000},
                        {"2MiB", 2 << 20},   {"1GiB", 1ULL << 30}, {"3GB", 3000000000ULL},
                        {"16 MiB", 16 << 20}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    PipelineSpec spec =
        ParseOk(Minimal("    event_time: ts\n",
                        std::string("    event_time: ts\n    max_record_bytes: ") + c.text + "\n"));
    ASSERT_EQ(spec.sources.size(), 1u);
    EXPECT_EQ(spec.sources[0].max_record_bytes, c.bytes);
  }
}

TEST(ParsePipelineTest, RecordsWhereThingsAreWritten) {
  PipelineSpec spec =
      ParseOk(Minimal("    event_time: ts\n", "    event_time: ts\n    filter: ts > 0\n"));
  const SourceSpec& s = spec.sources[0];
  EXPECT_EQ(s.where.ToString(), "p.yaml:2:5");
  EXPECT_EQ(s.filter_where.ToString(), "p.yaml:6:13");
  EXPECT_EQ(s.fields[0].where.ToString(), "p.yaml:9:11");
}

TEST(ConfigLocationTest, ToString) {
  EXPECT_EQ((ConfigLocation{"f.yaml", 3, 7}).ToString(), "f.yaml:3:7");
  EXPECT_EQ((ConfigLocation{"f.yaml", 0, 0}).ToString(), "f.yaml");
}

// ---- Errors: every one says file:line:column and what was expected ----

TEST(ParsePipelineErrorTest, UnknownKeySuggestsTheClosestKey) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", R"(    event_time: ts
    watermark:
      max_out_of_order: 5s
)")),
            "p.yaml:7:7: source 's'.watermark: unknown key 'max_out_of_order' "
            "(did you mean 'max_out_of_orderness'?)");
}

TEST(ParsePipelineErrorTest, UnknownKeyWithoutSuggestionListsKnownKeys) {
  // The list is every key of the section, in table order.
  std::string known;
  for (const OptionSpec& o : Section("pipeline").options) {
    if (!known.empty()) known += ", ";
    known += o.key;
  }
  EXPECT_EQ(Error(Minimal("outputs:\n", "colour: red\noutputs:\n")),
            "p.yaml:10:1: pipeline: unknown key 'colour'; known keys: " + known);
  EXPECT_TRUE(known.starts_with("version, name, sources")) << known;
}

TEST(ParsePipelineErrorTest, MisspeltSourceKey) {
  EXPECT_EQ(Error(Minimal("    format: jsonl", "    fromat: jsonl\n    format: jsonl")),
            "p.yaml:3:5: source 's': unknown key 'fromat' (did you mean 'format'?)");
}

TEST(ParsePipelineErrorTest, ListWhereAScalarIsExpected) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", R"(    event_time: ts
    watermark:
      idle_timeout: [1s, 2s]
)")),
            "p.yaml:7:21: source 's'.watermark.idle_timeout: expected duration, got a list");
}

TEST(ParsePipelineErrorTest, MapWhereAScalarIsExpected) {
  EXPECT_EQ(Error(Minimal("    format: jsonl", "    format: {a: 1}")),
            "p.yaml:3:13: source 's'.format: expected one of, got a map");
}

TEST(ParsePipelineErrorTest, TextWhereADurationIsExpected) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", R"(    event_time: ts
    watermark:
      allowed_lateness: abc
)")),
            "p.yaml:7:25: source 's'.watermark.allowed_lateness: bad duration 'abc': expected a "
            "duration like 500ms, 5s, 1m, 1h or 7d");
}

TEST(ParsePipelineErrorTest, NegativeDuration) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", R"(    event_time: ts
    watermark:
      max_out_of_orderness: -5s
)")),
            "p.yaml:7:29: source 's'.watermark.max_out_of_orderness: negative duration '-5s': "
            "durations must be zero or positive");
}

TEST(ParsePipelineErrorTest, DurationWithoutUnit) {
  std::string e = Error(Minimal("    event_time: ts\n", R"(    event_time: ts
    watermark:
      idle_timeout: 30
)"));
  EXPECT_EQ(e,
            "p.yaml:7:21: source 's'.watermark.idle_timeout: duration '30' has no unit; expected "
            "a duration like 500ms, 5s, 1m, 1h or 7d");
}

TEST(ParsePipelineErrorTest, WatermarkThatIsNotAMap) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", "    event_time: ts\n    watermark: 5s\n")),
            "p.yaml:6:16: source 's'.watermark: expected a map of options, got a scalar");
}

TEST(ParsePipelineErrorTest, EventTimeNamesAnUnknownField) {
  EXPECT_EQ(Error(Minimal("event_time: ts", "event_time: tss")),
            "p.yaml:5:17: source 's'.event_time: unknown field 'tss' (not in the schema; did you "
            "mean 'ts'?)");
}

TEST(ParsePipelineErrorTest, EventTimeFieldMustBeATimestamp) {
  EXPECT_EQ(Error(R"(sources:
  - name: s
    format: jsonl
    path: in.jsonl
    event_time: amount
    schema:
      fields:
        - name: amount
          type: double
outputs:
  late: late.jsonl
  dead_letter: dead.jsonl
)"),
            "p.yaml:5:17: source 's'.event_time: field 'amount' is double; it must be a "
            "timestamp");
}

TEST(ParsePipelineErrorTest, KeyNamesAnUnknownField) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", "    event_time: ts\n    key: [ts, user]\n")),
            "p.yaml:6:10: source 's'.key: unknown field 'user' (not in the schema)");
}

TEST(ParsePipelineErrorTest, KeyTypoGetsASuggestion) {
  EXPECT_EQ(Error(R"(sources:
  - name: s
    format: jsonl
    path: in.jsonl
    event_time: ts
    key: usr_id
    schema:
      fields:
        - {name: ts, type: timestamp}
        - {name: user_id, type: string}
outputs:
  late: late.jsonl
  dead_letter: dead.jsonl
)"),
            "p.yaml:6:10: source 's'.key: unknown field 'usr_id' (not in the schema; did you mean "
            "'user_id'?)");
}

TEST(ParsePipelineErrorTest, IdNamesAnUnknownField) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", "    event_time: ts\n    id: t\n")),
            "p.yaml:6:9: source 's'.id: unknown field 't' (not in the schema; did you mean "
            "'ts'?)");
}

TEST(ParsePipelineErrorTest, MissingSources) {
  EXPECT_EQ(Error("outputs:\n  late: l\n  dead_letter: d\n"),
            "p.yaml:1:1: pipeline: missing required key 'sources' (list of sections)");
}

TEST(ParsePipelineErrorTest, EmptySourcesList) {
  EXPECT_EQ(Error("sources: []\noutputs:\n  late: l\n  dead_letter: d\n"),
            "p.yaml:1:10: pipeline.sources: a pipeline needs at least one source");
}

TEST(ParsePipelineErrorTest, SourcesThatIsNotAList) {
  EXPECT_EQ(Error("sources: payments\noutputs:\n  late: l\n  dead_letter: d\n"),
            "p.yaml:1:10: pipeline.sources: expected a list, got a scalar");
}

TEST(ParsePipelineErrorTest, MissingOutputs) {
  std::string yaml = kMinimal;
  yaml.erase(yaml.find("outputs:"));
  EXPECT_EQ(Error(yaml), "p.yaml:1:1: pipeline: missing required key 'outputs' (section)");
}

TEST(ParsePipelineErrorTest, MissingRequiredOutput) {
  EXPECT_EQ(Error(Minimal("  dead_letter: dead.jsonl\n", "")),
            "p.yaml:11:3: outputs: missing required key 'dead_letter' (path or {path, format})");
}

TEST(ParsePipelineErrorTest, MissingSchema) {
  std::string yaml = kMinimal;
  size_t from = yaml.find("    schema:");
  yaml.erase(from, yaml.find("outputs:") - from);
  EXPECT_EQ(Error(yaml), "p.yaml:2:5: source 's': missing required key 'schema' (section)");
}

TEST(ParsePipelineErrorTest, MissingSourceKeysAreAllReported) {
  std::vector<std::string> errors = Errors(R"(sources:
  - name: s
    schema:
      fields:
        - name: ts
          type: timestamp
outputs:
  late: l
  dead_letter: d
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "p.yaml:2:5: source 's': missing required key 'format' (one of)",
                        "p.yaml:2:5: source 's': missing required key 'path' (path)",
                        "p.yaml:2:5: source 's': missing required key 'event_time' (string)",
                    }));
}

TEST(ParsePipelineErrorTest, MissingFieldType) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n", "          required: true\n")),
            "p.yaml:8:11: source 's'.schema.fields[0]: missing required key 'type' (one of)");
}

TEST(ParsePipelineErrorTest, EmptyFieldList) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("      fields:\n"), yaml.find("outputs:") - yaml.find("      fields:\n"),
               "      fields: []\n");
  std::vector<std::string> errors = Errors(yaml);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "p.yaml:7:15: source 's'.schema.fields: a schema needs at least one field");
}

TEST(ParsePipelineErrorTest, FieldsThatIsNotAList) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("      fields:\n"), yaml.find("outputs:") - yaml.find("      fields:\n"),
               "      fields: ts\n");
  EXPECT_EQ(Error(yaml), "p.yaml:7:15: source 's'.schema.fields: expected a list, got a scalar");
}

TEST(ParsePipelineErrorTest, MisspeltTypeSkipsChecksThatDependOnTheType) {
  // Without a known type, min/max and allowed cannot be judged; only the type
  // is reported.
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: n\n"
                          "          type: integer\n          min: 0\n          allowed: [1]\n")),
            "p.yaml:11:17: source 's'.schema.fields[1].type: expected one of string, int, double, "
            "bool, timestamp; got 'integer'");
}

TEST(ParsePipelineErrorTest, DuplicateTopLevelKeys) {
  EXPECT_EQ(Error(std::string("name: a\n") + kMinimal + "name: b\n"),
            "p.yaml:14:1: pipeline: duplicate key 'name'");
}

TEST(ParsePipelineErrorTest, DuplicateSourceNames) {
  std::string yaml = kMinimal;
  std::string source =
      yaml.substr(yaml.find("  - name"), yaml.find("outputs:") - yaml.find("  - name"));
  yaml.insert(yaml.find("outputs:"), source);
  EXPECT_EQ(Error(yaml), "p.yaml:10:5: source name 's' is used twice");
}

TEST(ParsePipelineErrorTest, DuplicateFieldNames) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: ts\n"
                          "          type: string\n")),
            "p.yaml:10:11: source 's': field 'ts' is declared twice");
}

TEST(ParsePipelineErrorTest, DuplicateYamlKeys) {
  EXPECT_EQ(Error(Minimal("    path: in.jsonl\n", "    path: in.jsonl\n    path: other.jsonl\n")),
            "p.yaml:5:5: source 's': duplicate key 'path'");
}

TEST(ParsePipelineErrorTest, InvalidYamlSyntaxHasAPosition) {
  // The flow list opened on line 3 runs into line 4.
  EXPECT_EQ(Error("sources:\n  - name: s\n    format: [jsonl\noutputs: {}\n"),
            "p.yaml:4:8: not valid YAML: end of sequence flow not found");
  EXPECT_EQ(Error("name: a\n  bad: indentation\n"),
            "p.yaml:2:6: not valid YAML: illegal map value");
}

TEST(ParsePipelineErrorTest, TabIndentationIsInvalidYaml) {
  EXPECT_EQ(Error("sources:\n\t- name: s\n"), "p.yaml:2:2: not valid YAML: illegal block entry");
}

TEST(ParsePipelineErrorTest, SourceThatIsNotAMap) {
  EXPECT_EQ(Error("sources: [payments]\noutputs:\n  late: l\n  dead_letter: d\n"),
            "p.yaml:1:11: sources[0]: expected a map of options, got a scalar");
}

TEST(ParsePipelineErrorTest, EmptyFile) {
  EXPECT_EQ(Error(""), "p.yaml:1:1: the pipeline file is empty");
  EXPECT_EQ(Error("# only a comment\n\n"), "p.yaml:1:1: the pipeline file is empty");
}

TEST(ParsePipelineErrorTest, TopLevelThatIsNotAMap) {
  EXPECT_EQ(Error("- a\n- b\n"), "p.yaml:1:1: pipeline: expected a map of options, got a list");
}

TEST(ParsePipelineErrorTest, VersionTwoIsRejected) {
  EXPECT_EQ(Error(std::string("version: 2\n") + kMinimal),
            "p.yaml:1:10: pipeline.version: version 2 is not supported; this Eddy reads version 1");
}

TEST(ParsePipelineErrorTest, VersionMustBeAnInteger) {
  std::vector<std::string> errors = Errors(std::string("version: one\n") + kMinimal);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "p.yaml:1:10: pipeline.version: expected an integer, got 'one'");
}

TEST(ParsePipelineErrorTest, MinGreaterThanMax) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: amount\n"
                          "          type: double\n          min: 10\n          max: 1\n")),
            "p.yaml:12:16: source 's'.schema.fields[1].min: min 10 is greater than max 1");
}

TEST(ParsePipelineErrorTest, MinMustBeANumber) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: amount\n"
                          "          type: double\n          min: zero\n")),
            "p.yaml:12:16: source 's'.schema.fields[1].min: expected a finite number, got 'zero'");
}

TEST(ParsePipelineErrorTest, MinOnAStringField) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: city\n"
                          "          type: string\n          max: 3\n")),
            "p.yaml:12:16: source 's'.schema.fields[1].max: min and max apply to int and double "
            "fields; 'city' is string");
}

TEST(ParsePipelineErrorTest, FormatOnANonTimestampField) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: n\n"
                          "          type: int\n          format: epoch_millis\n")),
            "p.yaml:12:19: source 's'.schema.fields[1].format: only timestamp fields have a "
            "format; 'n' is int");
}

TEST(ParsePipelineErrorTest, UnknownTimestampFormatSuggestsAChoice) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n          format: epoch_milis\n")),
            "p.yaml:10:19: source 's'.schema.fields[0].format: expected one of iso8601, "
            "epoch_seconds, epoch_millis; got 'epoch_milis' (did you mean 'epoch_millis'?)");
}

TEST(ParsePipelineErrorTest, AllowedOnADoubleField) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: x\n"
                          "          type: double\n          allowed: [1.5, 2.5]\n")),
            "p.yaml:12:20: source 's'.schema.fields[1].allowed: allowed values apply to string and "
            "int fields; 'x' is double");
}

TEST(ParsePipelineErrorTest, AllowedItemsOfAnIntFieldMustBeInts) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: n\n"
                          "          type: int\n          allowed: [1, two]\n")),
            "p.yaml:12:24: source 's'.schema.fields[1].allowed: 'two' is not an int");
}

TEST(ParsePipelineErrorTest, AllowedMustBeANonEmptyList) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n        - name: c\n"
                          "          type: string\n          allowed: []\n")),
            "p.yaml:12:20: source 's'.schema.fields[1].allowed: expected a non-empty list of "
            "values");
}

TEST(ParsePipelineErrorTest, UnknownFieldTypeIsOneError) {
  // A misspelt type is reported once; checks that depend on the type
  // (event_time must be a timestamp, format needs a timestamp) are skipped.
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestmp\n          format: epoch_millis\n")),
            "p.yaml:9:17: source 's'.schema.fields[0].type: expected one of string, int, double, "
            "bool, timestamp; got 'timestmp' (did you mean 'timestamp'?)");
}

TEST(ParsePipelineErrorTest, RequiredMustBeABool) {
  EXPECT_EQ(Error(Minimal("          type: timestamp\n",
                          "          type: timestamp\n          required: maybe\n")),
            "p.yaml:10:21: source 's'.schema.fields[0].required: expected true or false, got "
            "'maybe'");
}

TEST(ParsePipelineErrorTest, UnknownFormatSuggestsAChoice) {
  EXPECT_EQ(Error(Minimal("format: jsonl", "format: json")),
            "p.yaml:3:13: source 's'.format: expected one of jsonl, csv; got 'json' (did you "
            "mean 'jsonl'?)");
}

TEST(ParsePipelineErrorTest, BadSourceName) {
  EXPECT_EQ(Error(Minimal("name: s", "name: my-source")),
            "p.yaml:2:11: source 'my-source'.name: 'my-source' is not a valid name (letters, "
            "digits, underscores)");
}

TEST(ParsePipelineErrorTest, SourceCannotReadStderr) {
  EXPECT_EQ(Error(Minimal("path: in.jsonl", "path: stderr")),
            "p.yaml:4:11: source 's'.path: a source cannot read from stderr");
}

TEST(ParsePipelineErrorTest, EmptyPath) {
  EXPECT_EQ(Error(Minimal("late: late.jsonl", "late: \"\"")),
            "p.yaml:11:9: outputs.late: expected a path, got an empty string");
}

TEST(ParsePipelineErrorTest, ByteSizeWithUnknownUnit) {
  EXPECT_EQ(
      Error(Minimal("    event_time: ts\n", "    event_time: ts\n    max_record_bytes: 10XB\n")),
      "p.yaml:6:23: source 's'.max_record_bytes: unknown unit 'XB' in byte size '10XB'; "
      "units are B, KiB, MiB, GiB, KB, MB, GB");
}

TEST(ParsePipelineErrorTest, ByteSizeWithoutNumber) {
  EXPECT_EQ(
      Error(Minimal("    event_time: ts\n", "    event_time: ts\n    max_record_bytes: big\n")),
      "p.yaml:6:23: source 's'.max_record_bytes: bad byte size 'big': expected a number of "
      "bytes or e.g. 64KiB, 16MiB");
}

TEST(ParsePipelineErrorTest, ByteSizeOfZero) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n", "    event_time: ts\n    max_record_bytes: 0\n")),
            "p.yaml:6:23: source 's'.max_record_bytes: must be at least 1 byte");
}

TEST(ParsePipelineErrorTest, ByteSizeTooLarge) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n",
                          "    event_time: ts\n    max_record_bytes: 20000000000GiB\n")),
            "p.yaml:6:23: source 's'.max_record_bytes: byte size '20000000000GiB' is too large");
}

TEST(ParsePipelineErrorTest, CsvSectionWithoutCsvFormat) {
  EXPECT_EQ(Error(Minimal("    event_time: ts\n",
                          "    event_time: ts\n    csv:\n      delimiter: \";\"\n")),
            "p.yaml:7:7: source 's'.csv: a csv section needs format: csv");
}

TEST(ParsePipelineErrorTest, CsvDelimiterMustBeOneCharacter) {
  std::string yaml = Minimal("format: jsonl", "format: csv");
  yaml.replace(yaml.find("    event_time: ts\n"), 19,
               "    event_time: ts\n    csv:\n      delimiter: \"::\"\n");
  EXPECT_EQ(Error(yaml),
            "p.yaml:7:18: source 's'.csv.delimiter: expected a single character, got '::'");
}

TEST(ParsePipelineErrorTest, CsvDelimiterAndQuoteMustDiffer) {
  std::string yaml = Minimal("format: jsonl", "format: csv");
  yaml.replace(yaml.find("    event_time: ts\n"), 19,
               "    event_time: ts\n    csv:\n      delimiter: \"'\"\n      quote: \"'\"\n");
  EXPECT_EQ(Error(yaml),
            "p.yaml:7:18: source 's'.csv.delimiter: delimiter and quote must differ and must not "
            "be a newline");
}

TEST(ParsePipelineErrorTest, SeveralErrorsAreAllReportedOnePerLine) {
  std::vector<std::string> errors = Errors(R"(version: 3
sources:
  - name: s
    format: xml
    path: in.jsonl
    event_time: when
    schema:
      fields:
        - name: ts
          type: timestamp
    watermark:
      idle_timeout: -1s
outputs:
  late: late.jsonl
  dead_lettr: dead.jsonl
)");
  EXPECT_EQ(errors,
            (std::vector<std::string>{
                "p.yaml:1:10: pipeline.version: version 3 is not supported; this Eddy reads "
                "version 1",
                "p.yaml:4:13: source 's'.format: expected one of jsonl, csv; got 'xml'",
                "p.yaml:6:17: source 's'.event_time: unknown field 'when' (not in the schema)",
                "p.yaml:12:21: source 's'.watermark.idle_timeout: negative duration '-1s': "
                "durations must be zero or positive",
                "p.yaml:15:3: outputs: unknown key 'dead_lettr' (did you mean 'dead_letter'?)",
                "p.yaml:14:3: outputs: missing required key 'dead_letter' (path or {path, format})",
            }));
}

TEST(ParsePipelineErrorTest, EveryErrorStartsWithFileLineAndColumn) {
  const std::string broken[] = {
      "",
      "[",
      "a: b",
      "sources: 1",
      Minimal("type: timestamp", "type: 7"),
      Minimal("late: late.jsonl", "late: [a]"),
      Minimal("    event_time: ts\n", "    event_time: ts\n    watermark: []\n"),
  };
  for (const std::string& yaml : broken) {
    Result<PipelineSpec> r = Parse(yaml);
    ASSERT_FALSE(r.ok()) << yaml;
    for (const std::string& line : SplitLines(r.status().message())) {
      // "p.yaml:<line>:<column>: " with positive numbers.
      int l = 0, c = 0;
      char colon = 0;
      ASSERT_EQ(std::sscanf(line.c_str(), "p.yaml:%d:%d%c", &l, &c, &colon), 3) << line;
      EXPECT_GT(l, 0) << line;
      EXPECT_GT(c, 0) << line;
      EXPECT_EQ(colon, ':') << line;
    }
  }
}

// ---- LoadPipelineFile ----

TEST(LoadPipelineFileTest, ResolvesPathsAgainstTheFilesDirectory) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("fraud.yaml"), kMinimal);
  Result<PipelineSpec> r = LoadPipelineFile(dir.File("fraud.yaml"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "fraud");
  EXPECT_EQ(r->sources[0].path, dir.File("in.jsonl"));
}

TEST(LoadPipelineFileTest, MissingFileIsNotFound) {
  testing::TempDir dir;
  Result<PipelineSpec> r = LoadPipelineFile(dir.File("nope.yaml"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nope.yaml: cannot open pipeline file"), std::string::npos);
}

TEST(LoadPipelineFileTest, DirectoryIsRejected) {
  testing::TempDir dir;
  Result<PipelineSpec> r = LoadPipelineFile(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is a directory"), std::string::npos);
}

// ---- The generated reference ----

TEST(PipelineReferenceTest, MentionsEveryOptionOfEverySection) {
  std::string ref = GeneratePipelineReference();
  for (const SectionSpec& section : AllSections()) {
    std::string heading = "## `" + std::string(section.title) + "`";
    size_t at = ref.find(heading);
    ASSERT_NE(at, std::string::npos) << heading;
    size_t end = ref.find("\n## ", at + 1);
    std::string body = ref.substr(at, end == std::string::npos ? std::string::npos : end - at);
    for (const OptionSpec& option : section.options) {
      EXPECT_NE(body.find("| `" + std::string(option.key) + "` |"), std::string::npos)
          << section.title << "." << option.key;
      if (!option.default_value.empty() && !(section.id == "pipeline" && option.key == "name")) {
        EXPECT_NE(body.find("`" + std::string(option.default_value) + "`"), std::string::npos)
            << section.title << "." << option.key << " default";
      }
    }
  }
}

TEST(PipelineReferenceTest, EverySectionIsReachableFromTheTopLevel) {
  // Every section except the top level is named by a kSection or
  // kSectionList option somewhere, so the loader and the docs cover it.
  for (const SectionSpec& section : AllSections()) {
    if (section.id == "pipeline") continue;
    bool referenced = false;
    for (const SectionSpec& parent : AllSections()) {
      for (const OptionSpec& o : parent.options) {
        if ((o.type == OptionType::kSection || o.type == OptionType::kSectionList) &&
            o.choices == section.id) {
          referenced = true;
        }
        // Outputs given as maps are read through the "output" section.
        if (o.type == OptionType::kOutput && section.id == "output") referenced = true;
      }
    }
    EXPECT_TRUE(referenced) << section.id;
  }
}

TEST(PipelineReferenceTest, FindOptionReturnsNullForUnknownKeys) {
  EXPECT_EQ(Section("source").FindOption("nope"), nullptr);
  EXPECT_EQ(Section("source").FindOption("path")->type, OptionType::kPath);
}

}  // namespace
}  // namespace eddy
