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
    void frame_drawn();    // its commands issued, before presenting it
    void frame_finished(); // after presenting it
    // Seconds from now until `period` after the last frame started (0 once passed, or before any frame):
    // waiting that long paces frames at 1 / period without adding the wait to each frame's work.
    double until_next(double period) const;
    // {"frames", "work_ms": {median, p95, max, mean}, "cpu_ms": {...}, "interval_ms": {...}} since the last
    // reset (cpu_ms: the work up to presenting, which offscreen then waits for the GPU); then resets.
    nlohmann::json take_summary();

  private:
    Clock::time_point started_{}, previous_start_{};
    bool have_previous_ = false;
    Clock::time_point drawn_{};
    std::vector<double> work_ms_, cpu_ms_, interval_ms_;
};

} // namespace attnscope::gui
