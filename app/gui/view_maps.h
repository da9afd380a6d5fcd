#pragma once
// The maps the views show for one selection: from the session's capture, and from the comparison's and the
// shown branch's when there are any.
#include "branch_run.h"
#include "comparison_run.h"
#include "view_data.h"

#include <functional>

namespace attnscope::gui {

struct MapSources {
    const Session& session;
    const CaptureStore& capture;               // the session's
    const ComparisonRun* comparison = nullptr; // when one has run
    const BranchRun* branch = nullptr;         // the branch shown beside the original
};

// `view` is resolved: `step` a step done (-1 before the first), `steps_from` -1 or at most `step`. What
// cannot be made is said in the results' error fields. `between_maps` runs before each map and may throw to
// stop the work (the worker's cancel): an entropy refresh at 64x64 takes seconds.
MapResults compute_maps(const MapSources& sources, const ViewRequest& view, bool on_device,
                        const std::function<void()>& between_maps);

} // namespace attnscope::gui
