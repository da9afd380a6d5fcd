#include "branch.h"

namespace attnscope {

Branch::Branch(const Session& original, int from_step, std::vector<AttentionEditSpec> edits)
    : from_step_(from_step), session_(original.branch(from_step)),
      plan_(std::move(edits), session_.router()) {
    session_.router().set_edit(&plan_);
}

StepInfo Branch::step() {
    plan_.begin_step(session_.current_step());
    return session_.step();
}

} // namespace attnscope
