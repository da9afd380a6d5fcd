#pragma once
// An int8 inspection (quant_inspector.h) as JSON, for `attnscope inspect-int8` and any other exporter.
#include "quant_inspector.h"

#include <nlohmann/json.hpp>

namespace attnscope {

// {"quant_block", "q": operand, "k": operand, "scores": {"error", "histogram"}, "lse_error", "p_error"}; an
// operand is {"blocks", "steps": [row][block], "saturated": [row][block], "saturated_total", "values"}; an
// error {"max_abs", "mean_abs"}; the histogram {"bins", "lo", "hi", "edges", "exact", "int8"}; p_error adds
// "by_row" ({"row", "batch", "head", "max_abs", "mean_abs"} per batch * heads + head) and "by_key"
// ({"max_abs": [Sk], "mean_abs": [Sk]}). `heads` names the rows' batch items and heads.
nlohmann::json int8_inspection_json(const Int8Inspection& inspection, int heads);

} // namespace attnscope
