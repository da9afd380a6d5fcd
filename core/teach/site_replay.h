#pragma once
// One attention call of a session's step as the step saw it, including what a capture does not keep (V, the
// hidden state Q came from), by running the step's U-Net again on its kept latents (Session::replay); and
// the walk-through's inputs made of it and the model's weights.
#include "query_walkthrough.h"
#include "session/session.h"

namespace attnscope {

struct ReplayedCall {
    AttentionSite site;
    at::Tensor q, k, v, lse; // (rows, S, d), (rows, Sq) fp32
    at::Tensor out;          // (rows, Sq, d): the backend's O
    at::Tensor hidden;       // (batch, Sq, channels)
    at::Tensor unet_output;  // the step's U-Net output, both guidance halves
};

// Throws std::out_of_range when the step has not run or the model has no such site.
ReplayedCall replay_call(const Session& session, int step, int index, AttentionKind kind);

// The call with its module's W_q and output projection, and the step's guidance.
WalkthroughInputs walkthrough_inputs(const ReplayedCall& call, const Session& session);

} // namespace attnscope
