#include "batch.h"

#include <ATen/Parallel.h>
#include <stdexcept>

namespace attnscope::tiny {

SceneBatch SceneBatch::to(at::Device device) const {
    return {scenes,
            images.to(device),
            ids.to(device),
            token_labels.to(device),
            coverage.to(device),
            dropped.to(device)};
}

std::vector<int> word_token_positions(const Scene& scene, const ClipEncoding& encoding) {
    if (encoding.words != scene.words)
        throw std::runtime_error("the tokenizer splits '" + scene.caption() +
                                 "' into other words than the scene grammar: is it the tiny vocabulary?");
    std::vector<int> pos(scene.words.size(), -1);
    for (int t = 0; t < encoding.length; ++t) {
        const int w = encoding.word_index[t];
        if (w < 0) continue;
        if (pos[w] >= 0)
            throw std::runtime_error("caption word '" + scene.words[w] +
                                     "' takes more than one token: is it the tiny vocabulary?");
        pos[w] = t;
    }
    return pos;
}

SceneBatch make_batch(std::uint64_t seed, std::uint64_t first_index, int count, Split split,
                      const ClipTokenizer& tokenizer, double drop_caption) {
    constexpr int N = kImageSize, T = ClipTokenizer::kContextLength;
    constexpr std::uint64_t kDropStream = 1;
    SceneBatch b;
    b.scenes.resize(count);
    b.images = at::empty({count, 3, N, N});
    b.ids = at::empty({count, T}, at::kLong);
    b.token_labels = at::full({count, T}, -1, at::kLong);
    b.coverage = at::zeros({count, kMaxLabels, N, N});
    b.dropped = at::empty({count}, at::kBool);
    const auto empty_prompt = tokenizer.encode("");

    at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const std::uint64_t index = first_index + static_cast<std::uint64_t>(i);
            Scene& scene = b.scenes[i];
            scene = sample_scene(seed, index, split);
            const auto r = render_scene(scene);
            auto img = b.images[i];
            const auto rgb = at::from_blob(const_cast<std::uint8_t*>(r.rgb.data()), {N, N, 3}, at::kByte);
            img.copy_(rgb.permute({2, 0, 1}).to(at::kFloat).div(127.5).sub(1.0));
            const auto cov =
                at::from_blob(const_cast<std::uint8_t*>(r.coverage.data()), {r.labels, N, N}, at::kByte);
            b.coverage[i].narrow(0, 0, r.labels).copy_(cov.to(at::kFloat).div(kSubsamples * kSubsamples));

            const bool drop = sample_uniform(seed, index, kDropStream) < drop_caption;
            b.dropped[i].fill_(drop);
            const auto enc = drop ? empty_prompt : tokenizer.encode(scene.caption());
            auto ids = b.ids.accessor<int64_t, 2>();
            for (int t = 0; t < T; ++t) ids[i][t] = enc.ids[t];
            if (drop) continue;
            const auto pos = word_token_positions(scene, enc);
            const auto labels = scene.word_labels();
            auto tl = b.token_labels.accessor<int64_t, 2>();
            for (std::size_t w = 0; w < pos.size(); ++w) tl[i][pos[w]] = labels[w];
        }
    });
    return b;
}

} // namespace attnscope::tiny
