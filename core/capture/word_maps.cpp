#include "word_maps.h"

#include "attention_maps.h"

namespace attnscope {

std::vector<WordMap> word_maps(const CaptureStore& store, const ClipEncoding& prompt,
                               const std::vector<int>& cross_indices, const std::vector<int>& steps,
                               int width, int height) {
    std::vector<WordMap> maps;
    for (int w = 0; w < static_cast<int>(prompt.words.size()); ++w) {
        WordMap m{w, prompt.words[static_cast<size_t>(w)], {}, {}};
        for (size_t i = 0; i < prompt.word_index.size(); ++i)
            if (prompt.word_index[i] == w) m.tokens.push_back(static_cast<int64_t>(i));
        if (m.tokens.empty()) continue;
        MapRequest r;
        r.steps = steps;
        r.indices = cross_indices;
        r.kind = AttentionKind::Cross;
        r.tokens = m.tokens;
        r.out_width = width;
        r.out_height = height;
        m.map = attention_map(store, r).to(at::kCPU, at::kFloat).contiguous();
        maps.push_back(std::move(m));
    }
    return maps;
}

} // namespace attnscope
