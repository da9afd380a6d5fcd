#pragma once
// Whether the text encoder carries a caption's relation past the relation word: the relative L2 distance
// between its outputs at the second phrase's noun under the caption and under the opposite relation ("right
// of" for "left of"). The causal encoder can only pass the relation on to the words after it, and the U-Net
// reads where a phrase goes from those words; r6's encoder kept them 0.03 apart (its shape words: 0.92).
#include "scenes.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"

#include <vector>

namespace attnscope::tiny {

// Averaged over the scenes that have a relation; 0 when none has.
double relation_text_apart(const ClipTextModel& text, const ClipTokenizer& tokenizer,
                           const std::vector<Scene>& scenes);

} // namespace attnscope::tiny
