// The table of every pipeline-file option. Each section of the file is a
// SectionSpec listing its OptionSpecs: key, type, whether required, default,
// allowed values and documentation. The loader reads values through this
// table (so defaults and validation live only here) and the reference in
// docs/reference/pipeline.md is generated from it (`eddy reference`), with a
// test that the checked-in file matches.

#ifndef EDDY_CONFIG_OPTIONS_H_
#define EDDY_CONFIG_OPTIONS_H_

#include <span>
#include <string>
#include <string_view>

namespace eddy {

enum class OptionType {
  kString,
  kInt,
  kNumber,
  kBool,
  kDuration,     // "500ms", "5s", "1h", "7d"
  kBytes,        // "64KiB", "16MiB", or a plain number of bytes
  kEnum,         // one of OptionSpec::choices
  kPath,         // resolved against the pipeline file's directory
  kExpression,   // the expression language (docs/reference/expressions.md)
  kStringList,   // a string or a list of strings
  kScalarList,   // a list of scalars
  kChar,         // a single character
  kSection,      // a nested map described by another SectionSpec
  kSectionList,  // a list of maps described by another SectionSpec
  kOutput,       // a path, or {path, format} (section "output")
  kMap,          // a map of names to scalars
};

std::string_view OptionTypeName(OptionType type);

struct OptionSpec {
  std::string_view key;
  OptionType type;
  bool required;
  std::string_view default_value;  // as it would be written in YAML; empty = none
  std::string_view choices;        // kEnum: "a|b|c"; kSection(List): the section id
  std::string_view doc;
};

struct SectionSpec {
  std::string_view id;     // "source", "watermark", ...
  std::string_view title;  // where it appears: "sources[]", "sources[].watermark"
  std::string_view doc;
  std::span<const OptionSpec> options;

  // REQUIRES: `key` is declared in this section.
  const OptionSpec& Option(std::string_view key) const;
  const OptionSpec* FindOption(std::string_view key) const;
};

// Every section, in the order the reference documents them.
std::span<const SectionSpec> AllSections();
const SectionSpec& Section(std::string_view id);

// The Markdown reference of every option.
std::string GeneratePipelineReference();

}  // namespace eddy

#endif  // EDDY_CONFIG_OPTIONS_H_
