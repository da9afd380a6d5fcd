#pragma once
// A "what if" of a session: re-denoised from one of its steps with attention edits. It is a session of its
// own (Session::branch), so it stays as it is while the original rewinds, runs on or goes away, until its
// owner drops it; several branches of one session compare side by side.
#include "attention_edits.h"
#include "session/session.h"

#include <vector>

namespace attnscope {

class Branch {
  public:
    // Starts just before `from_step` of `original` (0..original.current_step()), with `edits` acting from
    // there on at the steps they name. Throws what Session::branch and EditPlan throw.
    Branch(const Session& original, int from_step, std::vector<AttentionEditSpec> edits);
    // The session's router points at the plan.
    Branch(const Branch&) = delete;
    Branch& operator=(const Branch&) = delete;

    int from_step() const { return from_step_; }
    const EditPlan& plan() const { return plan_; }
    // Observers and backends are the caller's to set; step with step(), not session().step().
    Session& session() { return session_; }
    const Session& session() const { return session_; }

    // The next denoising step, with the edits that apply to it.
    StepInfo step();

  private:
    int from_step_;
    Session session_;
    EditPlan plan_;
};

} // namespace attnscope
