#include "int8_run.h"

#include "compare/quant_inspector.h"

#include <numeric>
#include <stdexcept>
#include <string>

namespace attnscope::gui {

namespace {

Int8OperandView operand_view(const Int8Operand& o) {
    Int8OperandView v;
    const auto steps = o.steps.to(at::kCPU, at::kFloat).contiguous();
    const auto saturated = o.saturated.to(at::kCPU, at::kLong).contiguous();
    const int64_t rows = steps.size(0), blocks = steps.size(1);
    for (int64_t r = 0; r < rows; ++r) {
        const float* step = steps.data_ptr<float>() + r * blocks;
        const int64_t* count = saturated.data_ptr<int64_t>() + r * blocks;
        v.steps.emplace_back(step, step + blocks);
        v.saturated.emplace_back(count, count + blocks);
        v.saturated_total = std::accumulate(count, count + blocks, v.saturated_total);
    }
    v.values = o.values.numel();
    return v;
}

AbsErrorView error_view(const AbsError& e) {
    return {e.max_abs, e.mean_abs};
}

std::vector<AbsErrorView> error_views(const std::vector<AbsError>& errors) {
    std::vector<AbsErrorView> v;
    for (const auto& e : errors) v.push_back(error_view(e));
    return v;
}

} // namespace

Int8View inspect_captured(const CaptureStore& capture, const Int8Key& call) {
    const auto kind = call.self ? AttentionKind::Self : AttentionKind::Cross;
    const auto* captured = capture.find(call.step, call.index, kind);
    if (!captured)
        throw std::runtime_error("int8 inspection: step " + std::to_string(call.step + 1) + " index " +
                                 std::to_string(call.index) + " " + to_string(kind) +
                                 "-attention is not captured (evicted?)");
    const auto& site = captured->site;
    const auto inspection = inspect_int8(captured->q, captured->k, site.scale(), kInt8Bins);
    Int8View v;
    v.key = call;
    v.module = site.module;
    v.heads = site.heads;
    v.head_dim = site.head_dim;
    v.rows = static_cast<int>(captured->q.size(0));
    v.seq_q = site.seq_q;
    v.seq_k = site.seq_k;
    v.scale = site.scale();
    const auto& h = inspection.histogram;
    v.lo = h.lo;
    v.hi = h.hi;
    v.exact.assign(h.exact.begin(), h.exact.end());
    v.quantized.assign(h.quantized.begin(), h.quantized.end());
    v.q = operand_view(inspection.quant.q);
    v.k = operand_view(inspection.quant.k);
    v.score_error = error_view(inspection.score_error);
    v.lse_error = error_view(inspection.lse_error);
    v.p_error = error_view(inspection.p_error);
    v.p_error_by_row = error_views(inspection.p_error_by_row);
    v.p_error_by_key = error_views(inspection.p_error_by_key);
    return v;
}

} // namespace attnscope::gui
