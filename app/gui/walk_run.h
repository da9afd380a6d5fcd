#pragma once
// The walk-through tab's computation (issue 23), on the worker thread: the selected call's captured Q, K and
// LSE, V and the hidden state from replaying its step (core/teach/site_replay.h; the replay is kept for the
// next head or query of the same call), taken apart by core/teach/query_walkthrough.h into plain values.
#include "capture/capture_store.h"
#include "session/session.h"
#include "teach/site_replay.h"
#include "view_data.h"

#include <optional>

namespace attnscope::gui {

class WalkRun {
  public:
    // Throws std::runtime_error when the call is not in `capture` (never captured, or evicted), and what
    // replay_call and walk_query throw.
    WalkView walk(const Session& session, const CaptureStore& capture, const WalkKey& key);
    void forget() { replayed_.reset(); }

  private:
    std::optional<std::pair<WalkKey, ReplayedCall>> replayed_; // the key's query, batch and head unused
};

} // namespace attnscope::gui
