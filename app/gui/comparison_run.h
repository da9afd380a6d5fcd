#pragma once
// The compare panel's comparison (issue 8, the GUI side of `attnscope compare`): the session's settings run
// anew on A (the session's backends and dtype) and on B, stepped together by core/compare/lockstep.h from
// step 0 or from a step the session has reached (the steps before it shared), each run captured, so both
// runs' maps can be made for any selection once it has run.
#include "capture/attention_maps.h"
#include "compare/lockstep.h"
#include "view_data.h"

#include <optional>
#include <string>
#include <utility>

namespace attnscope::gui {

class ComparisonRun {
  public:
    // Starts from a copy of `session` just before `from_step` (Session::branch; 0..its current step), which
    // is left as it is: A and B share the steps before it; `labels` names the sides. Throws what
    // LockstepComparison throws (an unknown backend).
    ComparisonRun(const Session& session, int from_step, const CompareSide& b, CompareMode mode,
                  ComparisonSummary labels);
    ComparisonRun(const ComparisonRun&) = delete;
    ComparisonRun& operator=(const ComparisonRun&) = delete;

    bool done() const { return lockstep_.done(); }
    int current_step() const { return a_.current_step(); }
    int total_steps() const { return a_.total_steps(); }
    void step(); // both runs' next step

    // Once done.
    ComparisonSummary summary() const; // the labels, the compared steps and the worst call
    ImagePair images() const;          // the final images, A as the reference
    // P_A, P_B and |P_A - P_B| for `request`; the error says why not when either run lacks it.
    MapPair maps(const MapRequest& request, bool on_device) const;
    std::pair<ViewMap, ViewMap> divergence() const; // self, cross

  private:
    CaptureStore capture_a_, capture_b_; // observe the runs: destroyed after them
    Session a_;
    LockstepComparison lockstep_;
    ComparisonSummary labels_;
};

// P of two captures for one request, and |a - b| (core/compare/map_comparison.h), or why not.
MapPair map_pair(const CaptureStore& a, const CaptureStore& b, const MapRequest& request, bool on_device);

// Where `request`'s earliest step comes before `from_step`, the step from which two runs differ: a pair whose
// error says so ("step 1 comes before <run> (from step 2): <shared>"); else nothing.
std::optional<MapPair> before_divergence(const MapRequest& request, int from_step, const std::string& run,
                                         const std::string& shared);

} // namespace attnscope::gui
