#include "quant_report.h"

#include <vector>

namespace attnscope {
namespace {

using nlohmann::json;

json error_json(const AbsError& e) {
    return {{"max_abs", e.max_abs}, {"mean_abs", e.mean_abs}};
}

template <typename T> json rows_json(const at::Tensor& t) { // (rows, n) -> [[n] per row]
    const auto c = t.to(at::kCPU, c10::CppTypeToScalarType<T>::value).contiguous();
    auto out = json::array();
    for (int64_t r = 0; r < c.size(0); ++r) {
        const T* row = c.template data_ptr<T>() + r * c.size(1);
        out.push_back(std::vector<T>(row, row + c.size(1)));
    }
    return out;
}

json operand_json(const Int8Operand& op) {
    return {{"blocks", op.steps.size(1)},
            {"steps", rows_json<float>(op.steps)},
            {"saturated", rows_json<int64_t>(op.saturated)},
            {"saturated_total", op.saturated.sum().item<int64_t>()},
            {"values", op.values.numel()}};
}

json histogram_json(const ScoreHistogram& h) {
    std::vector<double> edges;
    for (std::size_t b = 0; b <= h.exact.size(); ++b) edges.push_back(h.edge(b));
    return {{"bins", h.exact.size()}, {"lo", h.lo},       {"hi", h.hi},
            {"edges", edges},         {"exact", h.exact}, {"int8", h.quantized}};
}

} // namespace

json int8_inspection_json(const Int8Inspection& r, int heads) {
    auto by_row = json::array();
    for (std::size_t i = 0; i < r.p_error_by_row.size(); ++i) {
        auto e = error_json(r.p_error_by_row[i]);
        e["row"] = i;
        e["batch"] = static_cast<int>(i) / heads;
        e["head"] = static_cast<int>(i) % heads;
        by_row.push_back(e);
    }
    std::vector<double> key_max, key_mean;
    for (const auto& e : r.p_error_by_key) {
        key_max.push_back(e.max_abs);
        key_mean.push_back(e.mean_abs);
    }
    auto p_error = error_json(r.p_error);
    p_error["by_row"] = by_row;
    p_error["by_key"] = {{"max_abs", key_max}, {"mean_abs", key_mean}};
    return {{"quant_block", kInt8QuantBlock},
            {"q", operand_json(r.quant.q)},
            {"k", operand_json(r.quant.k)},
            {"scores", {{"error", error_json(r.score_error)}, {"histogram", histogram_json(r.histogram)}}},
            {"lse_error", error_json(r.lse_error)},
            {"p_error", p_error}};
}

} // namespace attnscope
