#pragma once
// DAAM's word maps: for every word of the prompt, its tokens' cross-attention summed over the sites
// (each up-sampled to the image), averaged over steps, the mean of the heads, the prompt's guidance half.
// What `attnscope image-maps` writes for a picture it reads, and what its tests score against masks.
#include "capture_store.h"
#include "text/clip_tokenizer.h"

#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace attnscope {

struct WordMap {
    int word = 0;                // index into the encoding's words
    std::string text;            // the word as the tokenizer normalized it
    std::vector<int64_t> tokens; // its token positions
    at::Tensor map;              // (height, width) fp32 on the CPU
};

// Words the 77 tokens left out have no map. Throws what attention_map throws for steps or sites the store
// lacks.
std::vector<WordMap> word_maps(const CaptureStore& store, const ClipEncoding& prompt,
                               const std::vector<int>& cross_indices, const std::vector<int>& steps,
                               int width, int height);

} // namespace attnscope
