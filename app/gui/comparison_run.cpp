#include "comparison_run.h"

#include "compare/map_comparison.h"
#include "tensor_views.h"

#include <algorithm>
#include <c10/util/Exception.h>
#include <cmath>
#include <cstdio>

namespace attnscope::gui {

ComparisonRun::ComparisonRun(const Session& session, int from_step, const CompareSide& b, CompareMode mode,
                             ComparisonSummary labels)
    : a_(session.branch(from_step)), lockstep_(a_, b, mode), labels_(std::move(labels)) {
    a_.router().add_observer(&capture_a_);
    lockstep_.b().router().add_observer(&capture_b_);
}

void ComparisonRun::step() {
    const int k = a_.current_step();
    capture_a_.begin_step(k);
    capture_b_.begin_step(k);
    lockstep_.step();
}

ComparisonSummary ComparisonRun::summary() const {
    auto s = labels_;
    s.from_step = lockstep_.from_step();
    s.steps = a_.current_step() - s.from_step;
    const CaptureKey* worst = nullptr;
    double worst_error = -1;
    for (const auto& [key, e] : lockstep_.output_errors()) {
        // NaN (an overflow in B) is the worst there is.
        const double v = std::isnan(e.rel_l2) ? INFINITY : e.rel_l2;
        if (v > worst_error) {
            worst_error = v;
            worst = &key;
        }
    }
    if (worst) {
        char text[128];
        std::snprintf(text, sizeof text, "worst: rel L2 %.3g at step %d, index %d %s",
                      lockstep_.output_errors().at(*worst).rel_l2, worst->step + 1, worst->index,
                      to_string(worst->kind));
        s.worst = text;
    }
    return s;
}

ImagePair ComparisonRun::images() const {
    return image_pair(a_.image(Decoder::Full), lockstep_.b().image(Decoder::Full));
}

MapPair ComparisonRun::maps(const MapRequest& request, bool on_device) const {
    if (auto shared = before_divergence(request, lockstep_.from_step(), "the comparison", "A and B share it"))
        return *shared;
    return map_pair(capture_a_, capture_b_, request, on_device);
}

std::pair<ViewMap, ViewMap> ComparisonRun::divergence() const {
    return divergence_maps(lockstep_.output_errors(), lockstep_.from_step(),
                           a_.current_step() - lockstep_.from_step(), a_.pipeline().unet.site_count());
}

MapPair map_pair(const CaptureStore& a, const CaptureStore& b, const MapRequest& request, bool on_device) {
    MapPair p;
    try {
        const auto m = compare_maps(a, b, request);
        p.a = to_map(m.a, on_device, false);
        p.b = to_map(m.b, on_device, false);
        p.diff = to_map(m.abs_diff, on_device, false);
    } catch (const c10::Error& e) {
        p.error = e.what_without_backtrace();
    } catch (const std::exception& e) {
        p.error = e.what();
    }
    return p;
}

std::optional<MapPair> before_divergence(const MapRequest& request, int from_step, const std::string& run,
                                         const std::string& shared) {
    const auto first = std::min_element(request.steps.begin(), request.steps.end());
    if (first == request.steps.end() || *first >= from_step) return std::nullopt;
    MapPair p;
    p.error = "step " + std::to_string(*first + 1) + " comes before " + run + " (from step " +
              std::to_string(from_step + 1) + "): " + shared;
    return p;
}

} // namespace attnscope::gui
