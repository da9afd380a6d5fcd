#pragma once
// Two runs of one generation side by side: the same prompt, seed and initial latents on backend (or
// precision) A and B, stepped together, with every attention call's output O of B measured against A's
// per (step, site), and the latents after every step.
#include "capture/capture_store.h"
#include "divergence.h"
#include "session/session.h"

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace attnscope {

enum class CompareMode {
    // B's backend runs on the q, k, v that A's forward pass computed, inside it: each kernel's own error at
    // each (step, site), free of what earlier calls passed on. B's session still runs, for its latents and
    // image.
    SameInputs,
    // Each session runs on its own; B's outputs carry every earlier difference, so the grid shows where
    // error appears and whether it compounds.
    FreeRunning,
};
const char* to_string(CompareMode mode); // "same-inputs", "free"

struct CompareSide {
    // null: A's. Else the same model in another dtype or device, with a LoRA, or another checkpoint of the
    // same U-Net layout (a fine-tune); another layout is refused naming the first site that differs.
    std::shared_ptr<const Pipeline> pipeline;
    std::string backend = kAutoBackend; // the router's default backend ("auto" or a registered name)
};

class LockstepComparison {
  public:
    // Compares `a` from its current step with its branch there (Session::branch) on B's pipeline and
    // backend: A's latents, converted where B's dtype differs. `a` keeps its own backends and must outlive
    // the comparison; step both through step() only. Throws std::invalid_argument for an unknown backend.
    LockstepComparison(Session& a, const CompareSide& b, CompareMode mode);
    ~LockstepComparison();
    LockstepComparison(const LockstepComparison&) = delete;
    LockstepComparison& operator=(const LockstepComparison&) = delete;

    Session& a() { return a_; }
    Session& b() { return b_; }
    const Session& a() const { return a_; }
    const Session& b() const { return b_; }
    CompareMode mode() const { return mode_; }
    int from_step() const { return from_step_; }
    bool done() const { return a_.done(); }

    // The next step of A, then of B; records this step's errors.
    std::pair<StepInfo, StepInfo> step();

    // B's attention output against A's, per (step, index, kind) of every step compared.
    const std::map<CaptureKey, Divergence>& output_errors() const { return output_errors_; }
    // B's latents against A's after each step compared, by step index.
    const std::map<int, Divergence>& latents_divergence() const { return latents_; }

  private:
    class SameInputsProbe;
    class OutputRecorder;

    Session& a_;
    Session b_;
    CompareMode mode_;
    int from_step_;
    std::map<CaptureKey, Divergence> output_errors_;
    std::map<int, Divergence> latents_;
    std::unique_ptr<SameInputsProbe> probe_;
    std::unique_ptr<OutputRecorder> recorder_a_, recorder_b_;
};

} // namespace attnscope
