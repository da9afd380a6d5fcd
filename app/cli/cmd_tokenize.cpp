// attnscope tokenize: the 77 token ids and strings the text encoder gets for a prompt.
#include "command_line.h"
#include "commands.h"
#include "options.h"
#include "text/clip_tokenizer.h"

#include <iostream>
#include <nlohmann/json.hpp>

namespace attnscope::cli {

int cmd_tokenize(const std::vector<std::string>& argv) {
    CommandLine args("tokenize", "The 77 CLIP token ids and strings the text encoder gets for a prompt.");
    args.positional("prompt", "the prompt, quoted");
    args.option("tokenizer", "DIR", "a tokenizer folder: vocab.json and merges.txt");
    args.option("model", "PATH", "a model folder holding the tokenizer, instead of --tokenizer");
    args.flag("sd2", "SD 2's tokenizer settings (padding with '!')");
    args.flag("json", "one line of JSON: ids and tokens");
    if (!args.parse(argv)) return 0;
    const auto folder = args.given("tokenizer") ? args.get("tokenizer") : args.get("model");
    const auto prompt = args.get("prompt");
    if (!folder || !prompt)
        throw UsageError(
            "tokenize needs --tokenizer DIR (vocab.json + merges.txt) or --model PATH, and one prompt");
    auto options = ClipTokenizerOptions::from_folder(*folder);
    if (args.given("sd2")) options = ClipTokenizerOptions::sd_v2();
    const ClipTokenizer tokenizer(*folder, options);
    const auto e = tokenizer.encode(*prompt);
    if (e.truncated)
        std::cerr << "attnscope tokenize: warning: the prompt is " << e.dropped_tokens
                  << " tokens too long for CLIP's 77; they were dropped\n";
    if (args.given("json")) {
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
