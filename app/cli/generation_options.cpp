#include "generation_options.h"

#include "io/mapped_file.h"
#include "model/unet_loader.h"
#include "options.h"

#include <cstdio>
#include <tuple>

namespace attnscope::cli {

std::set<std::string> generation_options(std::set<std::string> more) {
    more.insert({"model", "preset", "prompt", "negative", "steps", "cfg", "seed", "scheduler", "size",
                 "device", "tokenizer", "vae", "taesd", "prediction", "config", "heads", "out"});
    return more;
}

void require_generation_args(const Args& args, const std::string& command) {
    if (!args.get("prompt") || !args.get("out"))
        throw UsageError(command +
                         " needs --prompt \"...\" and --out DIR (and --model PATH unless the embedded "
                         "model will do)");
    if (args.get("preset") && args.get("model"))
        throw UsageError("give either --model or --preset, not both");
}

GenerationSettings generation_settings(const Args& args) {
    const auto seed_text = args.get("seed", "0");
    if (seed_text.empty() || seed_text.find_first_not_of("0123456789") != std::string::npos ||
        seed_text.size() > 19)
        throw UsageError("bad --seed '" + seed_text + "': expected a whole number from 0");
    GenerationSettings s;
    s.prompt = args.get("prompt", "");
    s.negative_prompt = args.get("negative", "");
    s.steps = args.get_int("steps", s.steps);
    s.seed = static_cast<uint64_t>(std::stoull(seed_text));
    s.scheduler = parse_scheduler(args.get("scheduler", to_string(s.scheduler)));
    if (const auto cfg = args.get("cfg")) {
        try {
            s.guidance_scale = std::stod(*cfg);
        } catch (const std::exception&) {
            throw UsageError("bad --cfg '" + *cfg + "': expected a number such as 7.5");
        }
    }
    if (const auto size = args.get("size")) std::tie(s.width, s.height) = parse_size(*size);
    return s;
}

at::ScalarType default_dtype(at::Device device) {
    return device.is_cuda() ? at::kHalf : at::kFloat;
}

PipelineOptions pipeline_options(const Args& args, at::Device device, at::ScalarType dtype) {
    PipelineOptions o;
    o.device = device;
    o.dtype = dtype;
    o.tokenizer = args.get("tokenizer");
    o.vae = args.get("vae");
    o.taesd = args.get("taesd");
    if (const auto p = args.get("prediction")) o.unet.prediction = parse_prediction(*p);
    if (const auto c = args.get("config")) o.unet.config = read_unet_config(*c);
    if (args.get("heads")) o.text.num_heads = args.get_int("heads", 0);
    return o;
}

std::shared_ptr<const Pipeline> load_generation_pipeline(const Args& args, const PipelineOptions& options,
                                                         uint64_t seed, const ProgressFn& progress) {
    if (const auto preset = args.get("preset"))
        return random_pipeline(*preset, seed, options.dtype, options.device, progress);
    return load_pipeline(args.get("model", default_model_path()), options, progress);
}

void warn_if_truncated(const Session& session, const std::string& command) {
    for (const auto* tokens : {&session.prompt_tokens(), &session.negative_tokens()})
        if (tokens->truncated)
            std::fprintf(stderr, "attnscope %s: warning: %d prompt tokens past CLIP's 77 were dropped\n",
                         command.c_str(), tokens->dropped_tokens);
}

void write_text(const std::string& path, const std::string& text) {
    AtomicFileWriter out(path);
    out.write(text.data(), text.size());
    out.commit();
}

} // namespace attnscope::cli
