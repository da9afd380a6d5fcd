#pragma once
// How long frames take, for scripts to report (frame-stats): the time a frame keeps the UI thread busy (its
// work: maps to textures, the panels, drawing; offscreen, until the GPU has drawn it) and the time from one
// frame to the next (work plus waiting for input or the display). The UI stays at 60 fps while the work
// stays under 16.7 ms.
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

namespace attnscope::gui {

class FrameClock {
  public:
    using Clock = std::chrono::steady_clock;

    void frame_started();  // after waiting, before the frame's work
    void frame_finished(); // after presenting it
    // {"frames", "work_ms": {median, p95, max, mean}, "interval_ms": {...}} since the last reset; then
    // resets.
    nlohmann::json take_summary();

  private:
    Clock::time_point started_{}, previous_start_{};
    bool have_previous_ = false;
    std::vector<double> work_ms_, interval_ms_;
};

} // namespace attnscope::gui
