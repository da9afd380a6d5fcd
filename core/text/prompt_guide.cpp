#include "prompt_guide.h"

#include "io/json_text.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace attnscope {

std::vector<std::string> PromptGuide::examples() const {
    std::vector<std::string> out = {example};
    for (std::uint64_t seed = 1; seed < kExamples; ++seed) out.push_back(grammar.sample(seed));
    return out;
}

std::string PromptGuide::random_caption(std::uint64_t n) const {
    return grammar.sample(kExamples + n);
}

std::vector<std::string> PromptGuide::unknown_words(const std::vector<std::string>& words) const {
    std::vector<std::string> unknown;
    for (const auto& w : words)
        if (!grammar.knows(w) && std::find(unknown.begin(), unknown.end(), w) == unknown.end())
            unknown.push_back(w);
    return unknown;
}

std::string PromptGuide::unknown_words_line(const std::vector<std::string>& words) const {
    std::string said;
    for (std::size_t i = 0; i < words.size(); ++i)
        said += (i == 0 ? "'" : i + 1 == words.size() ? " and '" : ", '") + words[i] + "'";
    std::string known;
    for (const auto& w : grammar.words()) known += (known.empty() ? "" : ", ") + w;
    return said + (words.size() == 1 ? " is" : " are") + " not in " + model_name +
           "'s vocabulary; it knows: " + known;
}

std::optional<PromptGuide> read_prompt_guide(const std::filesystem::path& model, std::string model_name) {
    const auto path = model / "model_index.json";
    if (!std::filesystem::is_regular_file(path)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot be read");
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    const auto index = parse_json_object(text, path.string());
    const auto declared = index.find("attnscope");
    if (declared == index.end() || !declared->is_object() || !declared->contains("prompt_grammar"))
        return std::nullopt;
    const auto field = [&](const char* key) {
        const auto it = declared->find(key);
        if (it == declared->end() || !it->is_string())
            throw std::runtime_error(path.string() + ": \"attnscope\"." + key +
                                     " must be a string (the model declares a prompt grammar)");
        return it->get<std::string>();
    };
    try {
        PromptGuide guide{PromptGrammar::parse(field("prompt_grammar")), field("example_prompt"),
                          std::move(model_name), std::nullopt};
        std::vector<std::string> words;
        std::istringstream example(guide.example);
        for (std::string w; example >> w;) words.push_back(w);
        if (!guide.grammar.accepts(words))
            throw std::invalid_argument("the example prompt \"" + guide.example +
                                        "\" is not a caption of the prompt grammar");
        if (const auto g = declared->find("guidance_scale"); g != declared->end()) {
            if (!g->is_number() || !std::isfinite(g->get<double>()) || g->get<double>() < 0)
                throw std::invalid_argument("\"attnscope\".guidance_scale must be a number >= 0");
            guide.guidance_scale = g->get<double>();
        }
        return guide;
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(path.string() + ": " + e.what());
    }
}

} // namespace attnscope
