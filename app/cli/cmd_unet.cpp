// attnscope unet: run the U-Net on given tensors and write what it computed, for checking our numbers
// against other implementations.
#include "attention/probs_recorder.h"
#include "attention/router.h"
#include "commands.h"
#include "device_options.h"
#include "io/safetensors_file.h"
#include "model_source.h"
#include "options.h"

#include <cstdio>
#include <set>

namespace attnscope::cli {
namespace {

at::Tensor input(const SafetensorsFile& f, const std::string& name, bool integers_ok, at::ScalarType dtype,
                 at::Device device) {
    const auto* e = f.header().find(name);
    if (!e)
        throw std::runtime_error(f.path() + ": no tensor '" + name +
                                 "' (expected sample, encoder_hidden_states, timestep; for SDXL also "
                                 "text_embeds and time_ids)");
    const bool is_int = e->dtype == DType::I64 || e->dtype == DType::I32;
    if (!is_floating(e->dtype) && !(integers_ok && is_int))
        throw std::runtime_error(f.path() + ": tensor '" + name + "' is " +
                                 std::string(dtype_name(e->dtype)) + ", expected a floating-point type");
    return f.load(name, dtype, device);
}

} // namespace

int cmd_unet(const std::vector<std::string>& argv) {
    CommandLine args(
        "unet", "The U-Net on given tensors (sample, encoder_hidden_states, timestep; SDXL also "
                "text_embeds and time_ids): its output and attention probabilities, to check our numbers "
                "against other implementations.");
    add_model_options(args);
    args.option("inputs", "IN.safetensors",
                "sample, encoder_hidden_states and timestep (SDXL: text_embeds and time_ids too)");
    args.option("out", "OUT.safetensors", "sample and, unless --no-probs, every site's P");
    add_device_options(args);
    args.option("dtype", "f32|f16|bf16|f64", "the model's precision", "f32");
    args.option("backend", "NAME", "the attention backend; probabilities need one that materializes them",
                "math");
    args.flag("no-probs", "leave out the attention probabilities");
    if (!args.parse(argv)) return 0;
    const auto in_path = args.get("inputs"), out_path = args.get("out");
    if (!args.given("model") || !in_path || !out_path)
        throw UsageError("unet needs --model PATH --inputs IN.safetensors --out OUT.safetensors");
    const auto dtype = parse_dtype(args.value("dtype"));
    const auto device = chosen_device(args);
    AttentionRouter router;
    router.set_default_backend(args.value("backend"));

    const SafetensorsFile inputs(*in_path);
    ProbsRecorder probs;
    const bool want_probs = !args.given("no-probs");
    TensorMap out;
    {
        ProgressBar bar;
        const auto model = choose_model(args, dtype, device, bar);
        // The timestep keeps fp32 or better: step numbers up to 999 are not exact in half precision.
        const auto t_type = dtype == at::kDouble ? at::kDouble : at::kFloat;
        const auto sample = input(inputs, "sample", false, dtype, device);
        const auto context = input(inputs, "encoder_hidden_states", false, dtype, device);
        const auto timestep = input(inputs, "timestep", true, t_type, device);
        if (timestep.dim() > 1)
            throw std::runtime_error(*in_path + ": 'timestep' must have shape [1] or [B]");
        AddedConditions added;
        if (model.unet.config().text_time()) // micro-conditioning sizes are whole pixels: fp32 or better
            added = {input(inputs, "text_embeds", false, dtype, device),
                     input(inputs, "time_ids", true, t_type, device)};
        if (want_probs) router.add_observer(&probs);
        bar.update(1.0, "forward pass");
        out["sample"] = model.unet.forward(sample, timestep, context, router, added);
    }
    if (want_probs)
        for (const auto& [key, p] : probs.probs()) out[key] = p;
    write_safetensors(*out_path, out,
                      {{"attnscope.command", "unet"},
                       {"attnscope.dtype", dtype_label(dtype)},
                       {"attnscope.backend", router.default_backend()}});
    if (want_probs)
        std::printf("wrote %s: sample and %zu attention probability maps\n", out_path->c_str(),
                    probs.probs().size());
    else
        std::printf("wrote %s: sample\n", out_path->c_str());
    return 0;
}

} // namespace attnscope::cli
