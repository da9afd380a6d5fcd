#include "tensor_views.h"

#include "compare/divergence_grid.h"
#include "compare/image_metrics.h"
#include "io/png_file.h"

#include <algorithm>
#include <cmath>

namespace attnscope::gui {

namespace {

void set_extremes(ViewMap& m) {
    const auto r = value_range(m);
    m.min_value = r.lo;
    m.max_value = r.hi;
}

ViewMap host_map(int width, int height, std::vector<float> values) {
    ViewMap m;
    m.width = width;
    m.height = height;
    m.values = std::move(values);
    set_extremes(m);
    return m;
}

} // namespace

ViewMap to_map(const at::Tensor& map, bool on_device, bool host) {
    ViewMap out;
    out.height = static_cast<int>(map.size(0));
    out.width = static_cast<int>(map.size(1));
    if (on_device && map.is_cuda()) {
        auto held = std::make_shared<const at::Tensor>(map.to(at::kFloat).contiguous());
        out.device.data = held->data_ptr<float>();
        out.device.device = held->get_device();
        out.device.owner = std::move(held);
        if (!host) return out;
    }
    const auto m = map.to(at::kCPU, at::kFloat).contiguous();
    out.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    set_extremes(out);
    return out;
}

void fill_device_extremes(const std::vector<ViewMap*>& maps) {
    std::vector<ViewMap*> pending;
    std::vector<at::Tensor> extremes;
    for (auto* m : maps) {
        if (!m->on_device() || !m->values.empty()) continue;
        const auto& t = *static_cast<const at::Tensor*>(m->device.owner.get());
        extremes.push_back(t.min());
        extremes.push_back(t.max());
        pending.push_back(m);
    }
    if (pending.empty()) return;
    const auto host = at::stack(extremes).to(at::kCPU, at::kFloat);
    const float* v = host.data_ptr<float>();
    for (size_t i = 0; i < pending.size(); ++i) {
        pending[i]->min_value = v[2 * i];
        pending[i]->max_value = v[2 * i + 1];
    }
}

RgbImage to_rgb(const at::Tensor& image, int step, bool full) {
    const auto img = to_image8(image);
    RgbImage out;
    out.width = img.width;
    out.height = img.height;
    out.step = step;
    out.full = full;
    out.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
    for (size_t p = 0; p < static_cast<size_t>(img.width) * img.height; ++p)
        for (int c = 0; c < 3; ++c)
            out.rgb[p * 3 + c] = img.pixels[p * img.channels + (img.channels >= 3 ? c : 0)];
    return out;
}

ImagePair image_pair(const at::Tensor& a, const at::Tensor& b) {
    const auto c = compare_images(a, b);
    ImagePair p;
    p.a = to_rgb(a, -1, true);
    p.b = to_rgb(b, -1, true);
    p.diff = to_rgb(c.difference, -1, true);
    p.psnr_db = c.psnr_db;
    p.ssim = c.ssim;
    p.max_abs = c.max_abs;
    return p;
}

std::pair<ViewMap, ViewMap> divergence_maps(const std::map<CaptureKey, Divergence>& errors, int first_step,
                                            int steps, int sites) {
    std::vector<float> self(static_cast<size_t>(sites) * steps, kGridLog10Range.lo), cross = self;
    for (const auto& [key, e] : errors) {
        const int column = key.step - first_step;
        if (column < 0 || column >= steps || key.index < 1 || key.index > sites) continue;
        const float v = std::isnan(e.rel_l2) ? kGridLog10Range.hi
                        : e.rel_l2 > 0       ? static_cast<float>(std::log10(e.rel_l2))
                                             : kGridLog10Range.lo;
        (key.kind == AttentionKind::Self ? self
                                         : cross)[static_cast<size_t>(key.index - 1) * steps + column] = v;
    }
    return {host_map(steps, sites, std::move(self)), host_map(steps, sites, std::move(cross))};
}

} // namespace attnscope::gui
