// Binding rows to the expression language: the variables a source's fields
// provide, and their values for one row. Timestamps are epoch seconds.

#ifndef EDDY_FEATURES_EXPR_BINDING_H_
#define EDDY_FEATURES_EXPR_BINDING_H_

#include <vector>

#include "base/value.h"
#include "config/pipeline.h"
#include "expr/expression.h"

namespace eddy {

// One variable per schema field, in schema order.
std::vector<ExprVariable> FieldVariables(const SourceSpec& spec);

// Field `index` of `row` as an expression value (views into the row).
ExprValue FieldToExpr(const Row& row, size_t index);

}  // namespace eddy

#endif  // EDDY_FEATURES_EXPR_BINDING_H_
