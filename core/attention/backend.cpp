#include "backend.h"

namespace attnscope {

std::string request_shape_problem(const AttentionRequest& r) {
    if (r.k.scalar_type() != r.q.scalar_type() || r.v.scalar_type() != r.q.scalar_type() ||
        r.k.device() != r.q.device() || r.v.device() != r.q.device())
        return "needs Q, K and V of one dtype on one device";
    if (r.q.dim() != 4 || r.k.dim() != 4 || r.v.dim() != 4) return "needs (B, heads, S, d) tensors";
    const int64_t d = r.q.size(3);
    if (r.k.size(3) != d || r.v.size(3) != d || r.k.sizes().slice(0, 2) != r.q.sizes().slice(0, 2) ||
        r.v.sizes().slice(0, 3) != r.k.sizes().slice(0, 3))
        return "needs Q, K and V of one head dim and matching batch, heads and key count";
    if (r.q.size(2) < 1 || r.k.size(2) < 1 || d < 1) return "needs at least one query, key and head dim";
    return {};
}

} // namespace attnscope
