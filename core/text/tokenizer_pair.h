#pragma once
// SDXL tokenizes a prompt twice, for CLIP ViT-L and for OpenCLIP ViT-bigG: the same vocabulary and merges, so
// they split a prompt alike and differ in what pads it. The token strip shows the first's tokens and says
// whether the second's agree. No LibTorch.
#include "clip_tokenizer.h"

#include <string>

namespace attnscope {

// One line: "both tokenizers split it alike (N tokens); they pad with '<|endoftext|>' and '!'", or where they
// differ: "the tokenizers differ at position 3 ('x' / 'y'), ...".
std::string compare_tokenizations(const ClipEncoding& first, const ClipEncoding& second);

} // namespace attnscope
