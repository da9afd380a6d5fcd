// attnscope tokenize: the 77 token ids and strings the text encoder gets for a prompt.
#include "args.h"
#include "commands.h"
#include "options.h"
#include "text/clip_tokenizer.h"

#include <iostream>
#include <nlohmann/json.hpp>

namespace attnscope::cli {

int cmd_tokenize(const std::vector<std::string>& argv) {
    const Args args(argv, {"tokenizer", "model"}, {"json", "sd2"});
    const auto folder = args.get("tokenizer") ? args.get("tokenizer") : args.get("model");
    if (!folder || args.positional().size() != 1)
        throw UsageError(
            "tokenize needs --tokenizer DIR (vocab.json + merges.txt) or --model PATH, and one prompt");
    auto options = ClipTokenizerOptions::from_folder(*folder);
    if (args.flag("sd2")) options = ClipTokenizerOptions::sd_v2();
    const ClipTokenizer tokenizer(*folder, options);
    const auto e = tokenizer.encode(args.positional().front());
    if (e.truncated)
        std::cerr << "attnscope tokenize: warning: the prompt is " << e.dropped_tokens
                  << " tokens too long for CLIP's 77; they were dropped\n";
    if (args.flag("json")) {
        std::cout << nlohmann::json{{"ids", e.ids}, {"tokens", e.tokens}}.dump() << "\n";
        return 0;
    }
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
        std::cout << i << "\t" << e.ids[i] << "\t" << e.tokens[i];
        if (e.word_index[i] >= 0)
            std::cout << "\tword " << e.word_index[i] << " '" << e.words[e.word_index[i]] << "'";
        std::cout << "\n";
    }
    return 0;
}

} // namespace attnscope::cli
