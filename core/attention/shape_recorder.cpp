#include "shape_recorder.h"

#include <iomanip>
#include <sstream>

namespace attnscope {

void ShapeRecorder::on_attention(const AttentionSite& site, const AttentionTensors& t) {
    SiteShapes s{site, t.q.sizes().vec(), t.k.sizes().vec(), t.v.sizes().vec(), {}, t.probs.defined()};
    s.p = s.p_materialized ? t.probs.sizes().vec()
                           : std::vector<int64_t>{t.q.size(0), t.q.size(1), t.k.size(1)};
    shapes_[{site.index, site.kind}] = std::move(s);
}

std::vector<SiteShapes> ShapeRecorder::shapes() const {
    std::vector<SiteShapes> out;
    for (const auto& [_, s] : shapes_) out.push_back(s);
    return out;
}

std::vector<SiteShapes> ShapeRecorder::shapes(AttentionKind kind) const {
    std::vector<SiteShapes> out;
    for (const auto& [key, s] : shapes_)
        if (key.second == kind) out.push_back(s);
    return out;
}

std::string format_shape_table(const std::vector<SiteShapes>& shapes, AttentionKind kind) {
    std::ostringstream o;
    o << std::left << std::setw(6) << "Index" << std::setw(8) << "Scale" << std::setw(18) << "Query Shape"
      << std::setw(18) << "Key Shape" << std::setw(18) << "Value Shape"
      << "Attention Probability Shape\n";
    for (const auto& s : shapes) {
        if (s.site.kind != kind) continue;
        const std::string scale = std::to_string(s.site.height) + "x" + std::to_string(s.site.width);
        o << std::setw(6) << s.site.index << std::setw(8) << scale << std::setw(18) << shape_string(s.q)
          << std::setw(18) << shape_string(s.k) << std::setw(18) << shape_string(s.v) << shape_string(s.p)
          << (s.p_materialized ? "" : " (not materialized)") << "\n";
    }
    return o.str();
}

} // namespace attnscope
