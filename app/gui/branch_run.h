#pragma once
// A kept branch of the session (the GUI side of `attnscope edit`): re-denoised from one of its steps with
// attention edits (core/intervene/branch.h), its attention captured; once run to the end, compared with the
// original.
#include "capture/attention_maps.h"
#include "intervene/branch.h"
#include "view_data.h"

#include <string>
#include <vector>

namespace attnscope::gui {

// Edits in `attnscope edit --edit`'s grammar (app/cli/edit_spec.h), words looked up in the session's prompt,
// checked as EditPlan checks them. Throws std::runtime_error or std::invalid_argument saying which part of
// which edit is wrong.
std::vector<AttentionEditSpec> parse_edits(const std::vector<std::string>& texts, const Session& session);

class BranchRun {
  public:
    // Starts just before `from_step` of `original` (0..its current step); `texts` are the edits as given.
    // Throws what Branch throws.
    BranchRun(int id, const Session& original, int from_step, std::vector<AttentionEditSpec> edits,
              std::vector<std::string> texts);
    BranchRun(const BranchRun&) = delete;
    BranchRun& operator=(const BranchRun&) = delete;

    bool done() const { return branch_.session().done(); }
    int current_step() const { return branch_.session().current_step(); }
    int total_steps() const { return branch_.session().total_steps(); }
    void step();
    // Once done: its latents and final image against those of `original`, which must be done too.
    void finish(const Session& original);

    const BranchSummary& summary() const { return summary_; }
    const ImagePair& images() const { return images_; }
    // The original's map (from its capture) and the branch's for `request`, and their difference.
    MapPair maps(const CaptureStore& original, const MapRequest& request, bool on_device) const;

  private:
    CaptureStore capture_; // observes the branch: destroyed after it
    Branch branch_;
    BranchSummary summary_;
    ImagePair images_;
};

} // namespace attnscope::gui
