// make_concept_lora: a LoRA for the embedded model made in closed form rather than trained, by editing
// what every cross-attention layer reads from the text (the key and value projections), as TIME (Orgad et
// al. 2023) and UCE (Gandikota et al. 2024) edit them: the prompt's hidden states with the source word are
// mapped to what the layer made of the same caption with the target word, while captions without it keep
// theirs. For each to_k / to_v weight W (out x width):
//
//   minimize  sum_edit |(W + D) c - W d|^2 + sum_keep |D c|^2 + lambda |D|^2
//   =>        D = W (Dst - Src) Src^T (Src Src^T + Keep Keep^T + lambda I)^-1
//
// over the hidden states c (source caption), d (edited caption) of every token position, and D is cut to
// rank R by SVD: up = U_R S_R, down = V_R^T, alpha = R, so the kohya-ss file applies exactly that at scale 1.
//
//   make_concept_lora --out FILE [--model assets/tiny-sd] [--from circle] [--to star] [--rank 8]
//                     [--captions 64] [--keep 64] [--lambda 0.1]
#include "io/safetensors_file.h"
#include "model/unet_loader.h"
#include "scenes.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"
#include "util/cpu_threads.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnscope::tiny {
namespace {

struct Args {
    std::string model = "assets/tiny-sd", from = "circle", to = "star", out;
    int rank = 8, captions = 64, keep = 64;
    double lambda = 0.1;
};

Args parse(int argc, char** argv) {
    Args a;
    const std::map<std::string, std::function<void(const std::string&)>> set = {
        {"--model", [&](const std::string& v) { a.model = v; }},
        {"--from", [&](const std::string& v) { a.from = v; }},
        {"--to", [&](const std::string& v) { a.to = v; }},
        {"--out", [&](const std::string& v) { a.out = v; }},
        {"--rank", [&](const std::string& v) { a.rank = std::stoi(v); }},
        {"--captions", [&](const std::string& v) { a.captions = std::stoi(v); }},
        {"--keep", [&](const std::string& v) { a.keep = std::stoi(v); }},
        {"--lambda", [&](const std::string& v) { a.lambda = std::stod(v); }},
    };
    for (int i = 1; i + 1 < argc; i += 2) {
        const auto it = set.find(argv[i]);
        if (it == set.end()) throw std::invalid_argument(std::string("unknown option ") + argv[i]);
        it->second(argv[i + 1]);
    }
    if (a.out.empty()) throw std::invalid_argument("--out FILE is needed");
    return a;
}

// The caption with every `from` word (and its plural) replaced; empty when it has none.
std::string replaced(const std::string& caption, const std::string& from, const std::string& to) {
    std::string out, word;
    bool found = false;
    const auto flush = [&] {
        if (word == from || word == from + "s") {
            found = true;
            word = to + word.substr(from.size());
        }
        out += word;
        word.clear();
    };
    for (const char c : caption) {
        if (c == ' ') {
            flush();
            out += ' ';
        } else {
            word += c;
        }
    }
    flush();
    return found ? out : std::string();
}

// The text encoder's hidden states of the tokens of `words` (each also in its plural) in every caption,
// stacked as rows.
at::Tensor hidden_rows(const ClipTextModel& text, const ClipTokenizer& tokenizer,
                       const std::vector<std::string>& captions, const std::vector<std::string>& words) {
    std::vector<at::Tensor> rows;
    for (const auto& c : captions) {
        const auto encoding = tokenizer.encode(c);
        const auto states = text.forward(at::tensor(encoding.ids, at::kLong).unsqueeze(0))[0];
        for (size_t p = 0; p < encoding.word_index.size(); ++p) {
            const int w = encoding.word_index[p];
            if (w < 0) continue;
            const auto& said = encoding.words[static_cast<size_t>(w)];
            for (const auto& word : words)
                if (said == word || said == word + "s")
                    rows.push_back(states[static_cast<int64_t>(p)].unsqueeze(0));
        }
    }
    return at::cat(rows).to(at::kDouble);
}

int run(const Args& a) {
    configure_cpu_threads();
    const auto unet = load_unet(open_unet_checkpoint(a.model), at::kDouble, at::kCPU);
    const auto text = ClipTextModel::load(a.model, at::kFloat, at::kCPU);
    const ClipTokenizer tokenizer(a.model);

    std::vector<std::string> sources, targets, keep;
    for (uint64_t i = 0;
         sources.size() < static_cast<size_t>(a.captions) || keep.size() < static_cast<size_t>(a.keep); ++i) {
        const auto caption = sample_scene(7, i, Split::Train).caption();
        const auto edited = replaced(caption, a.from, a.to);
        const bool has_target = !replaced(caption, a.to, a.from).empty(); // its rows would not pair up
        if (!edited.empty() && !has_target && sources.size() < static_cast<size_t>(a.captions)) {
            sources.push_back(caption);
            targets.push_back(edited);
        } else if (edited.empty() && keep.size() < static_cast<size_t>(a.keep)) {
            keep.push_back(caption);
        }
        if (i > 100000) throw std::runtime_error("the grammar has no captions with '" + a.from + "'");
    }
    // The word's own tokens are edited (what TIME and UCE edit); the other shapes' tokens are kept as they
    // are.
    std::vector<std::string> others;
    for (const auto shape : all_shapes())
        if (shape_word(shape, false) != a.from) others.push_back(shape_word(shape, false));
    const auto src = hidden_rows(text, tokenizer, sources, {a.from}),
               dst = hidden_rows(text, tokenizer, targets, {a.to});
    const int64_t width = src.size(1);
    auto normal = src.t().mm(src) + a.lambda * at::eye(width, at::kDouble);
    if (!keep.empty()) {
        const auto kept = hidden_rows(text, tokenizer, keep, others);
        normal = normal + kept.t().mm(kept);
    }
    const auto inverse = at::inverse(normal);

    TensorMap lora;
    double kept_energy = 0, total_energy = 0, reached = 0, wanted = 0;
    for (const auto& site : unet.sites(1, 8, 8, ClipTokenizer::kContextLength)) {
        if (site.kind != AttentionKind::Cross) continue;
        for (const char* projection : {"to_k", "to_v"}) {
            const auto layer = site.module + "." + projection;
            const auto& w = unet.weights()[layer + ".weight"];
            const auto delta = w.mm((dst - src).t()).mm(src).mm(inverse); // (out, width)
            const auto svd = at::linalg_svd(delta, false);
            const auto& u = std::get<0>(svd);
            const auto& s = std::get<1>(svd);
            const auto& vh = std::get<2>(svd);
            kept_energy += s.narrow(0, 0, a.rank).pow(2).sum().item<double>();
            const auto up = u.narrow(1, 0, a.rank) * s.narrow(0, 0, a.rank), down = vh.narrow(0, 0, a.rank);
            const auto edited = (w + up.mm(down)).mm(src.t()) - w.mm(dst.t()); // what the file applies
            reached += edited.pow(2).sum().item<double>();
            wanted += w.mm((dst - src).t()).pow(2).sum().item<double>();
            total_energy += s.pow(2).sum().item<double>();
            std::string flat = "lora_unet_" + layer;
            for (auto& c : flat)
                if (c == '.') c = '_';
            lora[flat + ".lora_up.weight"] = up.to(at::kHalf);
            lora[flat + ".lora_down.weight"] = down.contiguous().to(at::kHalf);
            lora[flat + ".alpha"] = at::tensor(static_cast<float>(a.rank)).to(at::kHalf);
        }
    }
    const std::string how = "tools/tiny/make_concept_lora --model " + a.model + " --from " + a.from +
                            " --to " + a.to + " --rank " + std::to_string(a.rank) + " --captions " +
                            std::to_string(a.captions) + " --keep " + std::to_string(a.keep) + " --lambda " +
                            std::to_string(a.lambda);
    write_safetensors(
        a.out, lora,
        {{"attnscope.made_by", how},
         {"attnscope.edit", "'" + a.from + "' -> '" + a.to +
                                "' in every cross-attention key and value projection (closed form)"}});
    std::printf(
        "wrote %s: %zu tensors, rank %d keeps %.1f%% of the edit's energy (%zu edited, %zu kept "
        "captions); the edited captions' keys and values move %.1f%% of the way from the source's to the "
        "target's\n",
        a.out.c_str(), lora.size(), a.rank, 100 * kept_energy / total_energy, sources.size(), keep.size(),
        100 * (1 - std::sqrt(reached / wanted)));
    return 0;
}

} // namespace
} // namespace attnscope::tiny

int main(int argc, char** argv) {
    try {
        return attnscope::tiny::run(attnscope::tiny::parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_concept_lora: %s\n", e.what());
        return 1;
    }
}
