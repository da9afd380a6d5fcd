#include "frame_clock.h"

#include <algorithm>
#include <numeric>

namespace attnscope::gui {

namespace {

double ms(FrameClock::Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

nlohmann::json summarize(std::vector<double> v) {
    if (v.empty()) return nullptr;
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) {
        return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
    };
    return {{"median", at(0.5)},
            {"p95", at(0.95)},
            {"max", v.back()},
            {"mean", std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size())}};
}

} // namespace

double FrameClock::until_next(double period) const {
    if (started_ == Clock::time_point{}) return 0;
    const double left = period - std::chrono::duration<double>(Clock::now() - started_).count();
    return std::max(0.0, left);
}

void FrameClock::frame_started() {
    started_ = Clock::now();
    if (have_previous_) interval_ms_.push_back(ms(started_ - previous_start_));
    previous_start_ = started_;
    have_previous_ = true;
}

void FrameClock::frame_drawn() {
    drawn_ = Clock::now();
}

void FrameClock::frame_finished() {
    work_ms_.push_back(ms(Clock::now() - started_));
    cpu_ms_.push_back(ms(drawn_ - started_));
}

nlohmann::json FrameClock::take_summary() {
    nlohmann::json j{{"frames", work_ms_.size()},
                     {"work_ms", summarize(work_ms_)},
                     {"cpu_ms", summarize(cpu_ms_)},
                     {"interval_ms", summarize(interval_ms_)}};
    cpu_ms_.clear();
    work_ms_.clear();
    interval_ms_.clear();
    return j;
}

} // namespace attnscope::gui
