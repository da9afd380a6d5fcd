#include "shape_recorder.h"

#include <algorithm>
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
    // The seed's columns; models whose transformers hold several blocks (SDXL) add each site's place, since
    // an index alone no longer says where it is.
    const bool deep =
        std::any_of(shapes.begin(), shapes.end(), [](const auto& s) { return s.site.depth > 0; });
    std::ostringstream o;
    o << std::left << std::setw(6) << "Index" << std::setw(8) << "Scale" << std::setw(18) << "Query Shape"
      << std::setw(18) << "Key Shape" << std::setw(18) << "Value Shape";
    if (deep)
        o << std::setw(38) << "Attention Probability Shape"
          << "Place\n";
    else
        o << "Attention Probability Shape\n";
    for (const auto& s : shapes) {
        if (s.site.kind != kind) continue;
        const std::string scale = std::to_string(s.site.height) + "x" + std::to_string(s.site.width);
        const std::string p = shape_string(s.p) + (s.p_materialized ? "" : " (not materialized)");
        o << std::setw(6) << s.site.index << std::setw(8) << scale << std::setw(18) << shape_string(s.q)
          << std::setw(18) << shape_string(s.k) << std::setw(18) << shape_string(s.v);
        if (deep)
            o << std::setw(38) << p << s.site.place() << "\n";
        else
            o << p << "\n";
    }
    return o.str();
}

} // namespace attnscope
