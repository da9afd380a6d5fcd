// attnscope walkthrough: one query's attention taken apart stage by stage (core/teach/query_walkthrough.h)
// from a capture file, as worksheet figures (one PNG a stage) and a JSON of every number: q, the keys, the
// scores, the row maximum, the shifted exponentials, their sum, P, the LSE beside the captured one, the other
// guidance half's P, and with the capture's V (generate --capture-values) each key's contribution to O, O and
// every head's O joined.
#include "capture_input.h"
#include "command_line.h"
#include "commands.h"
#include "generation_options.h"
#include "number_lists.h"
#include "teach/walkthrough_json.h"
#include "walkthrough_figures.h"

#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace {

struct Options {
    std::string capture, out;
    int index = 0, head = 0;
    std::optional<int> step; // from 1; none: the last captured step
    AttentionKind kind = AttentionKind::Cross;
    std::pair<int, int> pixel;
    bool uncond = false;
};

Options parse_options(const CommandLine& args) {
    const auto capture = args.get("capture"), out = args.get("out"), pixel = args.get("pixel");
    if (!capture || !out || !args.given("index") || !pixel)
        throw UsageError(
            "walkthrough needs --capture FILE (from generate --capture), --index N, --pixel X,Y and "
            "--out DIR");
    Options o;
    o.capture = *capture;
    o.out = *out;
    o.index = args.get_int("index");
    o.head = args.get_int("head");
    if (args.given("step")) {
        o.step = args.get_int("step");
        if (*o.step < 1) throw UsageError("bad --step " + *args.get("step") + ": steps count from 1");
    }
    const auto kind = args.value("kind");
    if (kind != "cross" && kind != "self") throw UsageError("bad --kind '" + kind + "' (use cross or self)");
    o.kind = kind == "cross" ? AttentionKind::Cross : AttentionKind::Self;
    o.pixel = two_numbers("pixel", *pixel, ",", "X,Y in image pixels, e.g. 32,20");
    const auto half = args.value("half");
    if (half != "cond" && half != "uncond")
        throw UsageError("bad --half '" + half + "' (use cond or uncond)");
    o.uncond = half == "uncond";
    return o;
}

const CapturedSite& find_site(const LoadedCapture& c, const Options& o, int step) {
    if (const auto* s = c.store.find(step, o.index, o.kind)) return *s;
    std::string indices;
    for (const auto& [key, site] : c.store.entries())
        if (key.step == step && key.kind == o.kind)
            indices += (indices.empty() ? "" : ", ") + std::to_string(key.index);
    throw std::runtime_error(o.capture + ": step " + std::to_string(step + 1) + " has no " +
                             to_string(o.kind) + "-attention at index " + std::to_string(o.index) +
                             (indices.empty() ? "" : " (it has indices " + indices + ")"));
}

// The token texts of the half shown, from the capture's description (the session summary).
std::vector<std::string> token_texts(const LoadedCapture& c, bool uncond) {
    std::vector<std::string> texts;
    const auto& d = c.description;
    const char* key = uncond ? "negative_prompt" : "prompt";
    if (!d.contains(key) || !d[key].contains("tokens")) return texts;
    for (const auto& t : d[key]["tokens"]) {
        const auto position = t.value("position", int64_t{0});
        if (position < 0 || position > 4096) continue;
        if (static_cast<int64_t>(texts.size()) <= position) texts.resize(position + 1, "<pad>");
        texts[position] = t.value("text", std::string("?"));
    }
    return texts;
}

} // namespace

int cmd_walkthrough(const std::vector<std::string>& argv) {
    CommandLine args("walkthrough", "One query's attention stage by stage from a capture: worksheet figures "
                                    "(PNG) and every number (walkthrough.json).");
    args.option("capture", "FILE", "the capture to read (generate --capture; --capture-values adds O = P V)");
    args.option("index", "N", "the attention site (attnscope shapes lists a model's sites)");
    args.option("kind", "cross|self", "which attention", "cross");
    args.option("pixel", "X,Y", "the query: a pixel of the generated image");
    args.option("head", "H", "the head, from 0", "0");
    args.option("step", "S", "the denoising step, from 1 (default: the last one captured)");
    args.option("half", "cond|uncond", "under guidance, the prompt's half or the negative prompt's", "cond");
    args.option("out", "DIR", "where the figures and walkthrough.json go");
    if (!args.parse(argv)) return 0;
    const auto o = parse_options(args);
    const auto capture = read_capture_file(o.capture);
    const auto steps = capture.store.steps();
    const int step = o.step ? *o.step - 1 : steps.back();
    if (!std::binary_search(steps.begin(), steps.end(), step))
        throw std::runtime_error(o.capture + ": step " + std::to_string(step + 1) +
                                 " is not in the capture (it holds " + std::to_string(steps.front() + 1) +
                                 " to " + std::to_string(steps.back() + 1) + ")");
    const auto& c = find_site(capture, o, step);
    const auto image = capture_image_size(capture);
    if (o.pixel.first >= image.width || o.pixel.second >= image.height)
        throw UsageError("bad --pixel " + *args.get("pixel") + ": the image is " +
                         std::to_string(image.width) + "x" + std::to_string(image.height));
    const auto& site = c.site;
    const int64_t qx = int64_t{o.pixel.first} * site.width / image.width;
    const int64_t qy = int64_t{o.pixel.second} * site.height / image.height;
    const int batches = static_cast<int>(c.q.size(0) / site.heads);
    if (o.uncond && batches < 2)
        throw std::runtime_error(o.capture +
                                 ": the capture has no unconditional half (made without guidance)");

    WalkthroughInputs in;
    in.site = site;
    in.site.batch = batches;
    in.q = c.q;
    in.k = c.k;
    in.lse = c.lse;
    in.v = c.v;
    const auto walk = walk_query(in, {o.uncond ? 0 : -1, o.head, qy * site.width + qx});
    const auto labels = key_labels(site, token_texts(capture, o.uncond));

    char title[256];
    std::snprintf(title, sizeof title,
                  "step %d, index %d %s-attention (%dx%d, %s), head %d of %d, query (%lld,%lld) "
                  "= image pixel (%d,%d), %s half",
                  step + 1, site.index, to_string(site.kind), site.width, site.height, site.module.c_str(),
                  o.head, site.heads, static_cast<long long>(qx), static_cast<long long>(qy), o.pixel.first,
                  o.pixel.second,
                  batches < 2 ? "only"
                  : o.uncond  ? "uncond"
                              : "cond");
    std::filesystem::create_directories(o.out);
    auto report = walkthrough_json(walk, labels);
    report["capture"] = o.capture;
    report["step"] = step + 1;
    report["image_pixel"] = {o.pixel.first, o.pixel.second};
    report["files"] = write_walkthrough_figures(o.out, walk, labels, title);
    write_text((std::filesystem::path(o.out) / "walkthrough.json").string(), report.dump(1) + "\n");
    std::printf("wrote %s: walkthrough.json and %zu figures; %s\n", o.out.c_str(), report["files"].size(),
                title);
    std::printf("  max %.6g, sum %.6g, LSE %.6g (captured %.6g)%s\n", walk.row_max, walk.exp_sum, walk.lse,
                walk.captured_lse,
                walk.out.defined() ? ""
                                   : "; no V in the capture, so no O (generate --capture-values keeps it)");
    return 0;
}

} // namespace attnscope::cli
