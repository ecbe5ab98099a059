// InputMapper: how a model's inputs are computed from what an event (or a
// serving request) provides: the source's fields and the event's per-event
// features.
//
// A mapper offers a list of named inputs, each a number or missing (NaN):
//   - every entry of the model's `inputs` (an expression);
//   - every numeric or bool field and feature under its own name;
//   - string fields and features listed in `encode`, as the index of their
//     value in the list (unlisted values are missing).
// A served model picks the inputs it needs by name (ModelSlot), so a new
// model version with other inputs needs no new mapper. String values for
// hashed inputs (online learners) are read by name too.
//
// Missing inputs become the model's `defaults` (else NaN) under
// `missing: default`; under `missing: skip` an event with a missing input the
// model reads is not scored.
//
// Thread safety: Map() is const and may run concurrently on distinct
// outputs.

#ifndef EDDY_SCORING_INPUT_MAPPER_H_
#define EDDY_SCORING_INPUT_MAPPER_H_

#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/pipeline.h"
#include "expr/expression.h"

namespace eddy {

class InputMapper {
 public:
  // `vars` are the variables an event provides (fields, then features).
  static Result<InputMapper> Create(const ModelSpec& spec, std::vector<ExprVariable> vars);

  // Names of the inputs, in the order Map() writes them.
  const std::vector<std::string>& names() const { return names_; }
  // Index of a named input, or -1.
  int Find(std::string_view name) const;
  // Index of a variable (for hashed string inputs), or -1.
  int FindVariable(std::string_view name) const;

  // Computes every input from the variables' values. `missing[i]` is set for
  // inputs that were null (before defaults apply).
  void Map(std::span<const ExprValue> values, std::vector<double>& out,
           std::vector<bool>& missing) const;

  const std::vector<ExprVariable>& variables() const { return vars_; }

 private:
  struct Input {
    int var = -1;                                      // a variable, or
    std::optional<Expression> expr;                    // an expression
    const std::vector<std::string>* encode = nullptr;  // string values -> index
    double fallback = 0;                               // the default when null
    bool has_default = false;
  };
  std::vector<ExprVariable> vars_;
  std::vector<std::string> names_;
  std::vector<Input> inputs_;
  std::unordered_map<std::string, std::vector<std::string>> encode_;
};

// A variable value as a model input: numbers and bools as doubles, strings
// through `encode` (index, or NaN), null as NaN.
double ExprToInput(const ExprValue& v, const std::vector<std::string>* encode);

}  // namespace eddy

#endif  // EDDY_SCORING_INPUT_MAPPER_H_
