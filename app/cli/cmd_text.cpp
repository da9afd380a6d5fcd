// attnscope text: the text encoder's output for a prompt (or given token ids): what the U-Net consumes.
#include "commands.h"
#include "device_options.h"
#include "io/safetensors_file.h"
#include "options.h"
#include "progress_bar.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"
#include "util/shape_string.h"

#include <cstdio>

namespace attnscope::cli {

int cmd_text(const std::vector<std::string>& argv) {
    CommandLine args("text", "The text encoder's output for a prompt or given token ids: what the U-Net "
                             "consumes.");
    args.option("model", "PATH", "a CLIP text encoder: model folder or .safetensors");
    args.option("prompt", "TEXT", "the prompt to tokenize and encode");
    args.option("ids", "IN.safetensors", "input_ids to encode instead of a prompt");
    args.option("out", "OUT.safetensors", "input_ids and encoder_hidden_states");
    args.option("tokenizer", "DIR", "the tokenizer folder (default: --model's)");
    args.flag("sd2", "SD 2's tokenizer settings (padding with '!')");
    add_device_options(args);
    args.option("dtype", "f32|f16|bf16|f64", "the encoder's precision", "f32");
    args.option("heads", "N", "attention heads (single files do not record them)");
    if (!args.parse(argv)) return 0;
    const auto model_path = args.get("model"), out_path = args.get("out");
    const auto prompt = args.get("prompt"), ids_path = args.get("ids");
    if (!model_path || !out_path || prompt.has_value() == ids_path.has_value())
        throw UsageError(
            "text needs --model PATH, --out OUT.safetensors and either --prompt \"...\" or --ids "
            "IN.safetensors (holding input_ids)");
    const auto dtype = parse_dtype(args.value("dtype"));
    const auto device = chosen_device(args);

    at::Tensor ids;
    if (prompt) {
        // The tokenizer of the model folder unless another is named.
        const std::string folder = args.get("tokenizer").value_or(*model_path);
        auto options = ClipTokenizerOptions::from_folder(folder);
        if (args.given("sd2")) options = ClipTokenizerOptions::sd_v2();
        const auto e = ClipTokenizer(folder, options).encode(*prompt);
        if (e.truncated)
            std::fprintf(stderr, "attnscope text: warning: %d prompt tokens past CLIP's 77 were dropped\n",
                         e.dropped_tokens);
        ids = at::tensor(e.ids, at::kLong).unsqueeze(0);
    } else {
        const SafetensorsFile in(*ids_path);
        const auto* entry = in.header().find("input_ids");
        if (!entry) throw std::runtime_error(*ids_path + ": no tensor 'input_ids'");
        if (is_floating(entry->dtype))
            throw std::runtime_error(*ids_path + ": 'input_ids' is " + std::string(dtype_name(entry->dtype)) +
                                     ", expected an integer type");
        ids = in.load("input_ids", at::kLong);
        if (ids.dim() == 1) ids = ids.unsqueeze(0);
    }

    at::Tensor hidden;
    {
        ProgressBar bar;
        bar.update(0.0, "loading the text encoder");
        ClipTextLoadOptions load_options; // single files do not record the head count: --heads gives it
        if (args.given("heads")) load_options.num_heads = args.get_int("heads");
        const auto model = ClipTextModel::load(*model_path, dtype, device, load_options);
        bar.update(0.5, "encoding");
        hidden = model.forward(ids.to(device));
        bar.update(1.0, "encoded");
    }
    write_safetensors(*out_path, {{"input_ids", ids}, {"encoder_hidden_states", hidden}},
                      {{"attnscope.command", "text"}, {"attnscope.dtype", dtype_label(dtype)}});
    std::printf("wrote %s: encoder_hidden_states %s\n", out_path->c_str(),
                shape_string(hidden.sizes()).c_str());
    return 0;
}

} // namespace attnscope::cli
