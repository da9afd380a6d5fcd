#pragma once
// The token mass tab's numbers (the GUI side of `attnscope maps --token-mass`): core's token_mass() of every
// captured cross-attention call. Each call is measured once: a captured step stays as it is until a rewind
// or a new session replaces it, so stepping on costs only the new step's 16 sites.
#include "capture/capture_store.h"
#include "view_data.h"

#include <map>
#include <utility>
#include <vector>

namespace attnscope::gui {

class TokenMassCache {
  public:
    // Every cross-attention call measured so far, by step then index, the ones `capture` holds that are not
    // yet known measured now (evicted ones stay). The lengths count the start and end tokens of the prompt
    // and of the negative prompt, which drove the unconditional half. Throws what token_mass() throws.
    std::vector<TokenMassSite> update(const CaptureStore& capture, int prompt_length, int negative_length);
    void drop_from(int step); // a rewind: those steps will be captured anew
    void clear();

  private:
    std::map<std::pair<int, int>, TokenMassSite> known_; // by (step, index)
};

} // namespace attnscope::gui
