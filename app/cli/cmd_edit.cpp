// attnscope edit: attention surgery. The generation runs as it is, then again from a chosen step with tokens'
// cross-attention scaled, heads zeroed or sites' backends swapped; both images, their difference and how
// far the latents moved.
#include "commands.h"
#include "compare/compare_summary.h"
#include "device_options.h"
#include "edit_spec.h"
#include "generation_options.h"
#include "image_pair.h"
#include "intervene/branch.h"
#include "options.h"
#include "progress_bar.h"
#include "session/session_summary.h"

#include <cstdio>
#include <filesystem>
#include <vector>

namespace attnscope::cli {
namespace fs = std::filesystem;

int cmd_edit(const std::vector<std::string>& argv) {
    CommandLine args("edit", "Attention surgery: the generation as it is, then again from --branch-from with "
                             "the edits; both images, their difference and edit.json in --out.");
    add_generation_options(args);
    args.repeatable("edit", "SPEC",
                    "token=WORD:scale=S[:renorm] | head=H | backend=NAME, then [@sites=1-16][@steps=0-19]"
                    "[@attn=self|cross]");
    args.option("branch-from", "K", "the first re-denoised step", "0");
    add_dtype_option(args);
    args.option("backend", "NAME", "the attention backend (see attnscope info)");
    if (!args.parse(argv)) return 0;
    require_generation_args(args);
    const auto edit_texts = args.get_all("edit");
    if (edit_texts.empty())
        throw UsageError(
            "edit needs at least one --edit, e.g. --edit \"token=cat:scale=0:renorm@steps=0-9\"");
    const auto settings = generation_settings(args);
    const auto device = chosen_device(args);
    const auto dtype = generation_dtype(args, device);
    const int from_step = args.get_int("branch-from");
    if (from_step < 0 || from_step >= settings.steps)
        throw UsageError("--branch-from " + std::to_string(from_step) + " is outside 0.." +
                         std::to_string(settings.steps - 1));
    std::vector<EditText> parsed;
    for (const auto& text : edit_texts) parsed.push_back(parse_edit(text, settings.steps));
    const fs::path out = *args.get("out");
    fs::create_directories(out);

    ProgressBar bar;
    const auto loading = [&](double f, const std::string& what) { bar.update(0.1 * f, what); };
    const auto pipeline =
        load_generation_pipeline(args, pipeline_options(args, device, dtype), settings.seed, loading);
    Session original(pipeline, settings);
    if (const auto backend = args.get("backend")) original.router().set_default_backend(*backend);
    warn_if_truncated(original, "edit");
    warn_unknown_words(original, "edit");
    std::vector<AttentionEditSpec> edits;
    for (auto& p : parsed) {
        fit_to_model(p, original);
        edits.push_back(p.edit);
    }

    const int n = original.total_steps();
    const int total = n + n - from_step;
    const auto stepped = [&](const char* which, int done, const StepInfo& info) {
        char what[128];
        std::snprintf(what, sizeof what, "%s step %d/%d  t=%.0f  U-Net %.0f ms", which, info.index + 1, n,
                      info.timestep, info.unet_ms);
        bar.update(0.1 + 0.85 * done / total, what);
    };
    // Each step's time, the original's and the edited branch's: what an edit costs.
    std::vector<double> original_ms, branch_ms;
    while (!original.done()) {
        const auto info = original.step();
        original_ms.push_back(info.step_ms);
        stepped("original", info.index + 1, info);
    }
    Branch branch(original, from_step, edits);
    while (!branch.session().done()) {
        const auto info = branch.step();
        branch_ms.push_back(info.step_ms);
        stepped("edited", n + info.index + 1 - from_step, info);
    }

    bar.update(0.95, "decoding");
    const auto images =
        write_image_pair(out, original.image(), "original.png", branch.session().image(), "edited.png");
    const auto summary = session_summary(original);
    nlohmann::json report;
    report["model"] = summary["model"];
    report["settings"] = summary["settings"];
    report["branch_from"] = from_step;
    auto edit_list = nlohmann::json::array();
    for (std::size_t i = 0; i < edits.size(); ++i)
        edit_list.push_back({{"spec", parsed[i].text}, {"applied", describe(branch.plan().edits()[i])}});
    report["edits"] = edit_list;
    // The latents after each re-run step against the original's: zero until the first edited step.
    auto latents = nlohmann::json::array();
    for (int k = from_step; k < n; ++k) {
        auto entry =
            to_json(divergence(original.latents_before(k + 1), branch.session().latents_before(k + 1)));
        entry["step"] = k;
        latents.push_back(entry);
    }
    report["latents"] = latents;
    report["step_ms"] = {{"original", original_ms}, {"edited", branch_ms}};
    report["image"] = to_json(images);
    report["files"] = {{"original", "original.png"}, {"edited", "edited.png"}, {"diff", "diff.png"}};
    write_text((out / "edit.json").string(), report.dump(2) + "\n");
    bar.update(1.0, "done");
    std::printf("wrote %s: %zu edit(s) from step %d; images %s\n", (out / "edit.json").c_str(), edits.size(),
                from_step, image_verdict(images).c_str());
    return 0;
}

} // namespace attnscope::cli
