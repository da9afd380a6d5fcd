// attnscope inspect-int8: what our int8 attention kernel's quantization does to one captured call — the
// per-block steps and saturation of Q and of the mean-smoothed K, histograms of the exact and the int8
// scores, and the error that causes in P per head and key token (core/compare/quant_inspector.h), emulated
// from the capture's Q and K on the CPU. A JSON report (DIR/int8.json, or stdout without --out) and bar
// charts.
#include "bar_chart.h"
#include "capture_input.h"
#include "command_line.h"
#include "commands.h"
#include "compare/quant_report.h"
#include "generation_options.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

namespace attnscope::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kChartWidth = 400, kPanelHeight = 120;
const Rgb8 kExactColour{70, 130, 220}, kInt8Colour{240, 160, 40}, kErrorColour{210, 80, 80};

struct Options {
    std::string capture;
    std::optional<std::string> out;
    int index = 0, step = 0; // step from 1, as the other commands count
    AttentionKind kind = AttentionKind::Cross;
    int bins = 0;
};

Options parse_options(const CommandLine& args) {
    const auto capture = args.get("capture");
    if (!capture || !args.given("index") || !args.given("step"))
        throw UsageError(
            "inspect-int8 needs --capture FILE (from generate --capture), --index N and --step S");
    Options o;
    o.capture = *capture;
    o.out = args.get("out");
    o.index = args.get_int("index");
    if (o.index < 1) throw UsageError("bad --index " + *args.get("index") + ": sites count from 1");
    o.step = args.get_int("step");
    if (o.step < 1) throw UsageError("bad --step " + *args.get("step") + ": steps count from 1");
    const auto kind = args.value("kind");
    if (kind != "cross" && kind != "self") throw UsageError("bad --kind '" + kind + "' (use cross or self)");
    o.kind = kind == "cross" ? AttentionKind::Cross : AttentionKind::Self;
    o.bins = args.get_int("bins");
    if (o.bins < 1 || o.bins > 10000)
        throw UsageError("bad --bins " + *args.get("bins") + ": expected 1..10000");
    return o;
}

const CapturedSite& find_site(const LoadedCapture& c, const Options& o) {
    if (const auto* s = c.store.find(o.step - 1, o.index, o.kind)) return *s;
    const auto steps = c.store.steps();
    throw std::runtime_error(
        o.capture + ": step " + std::to_string(o.step) + " index " + std::to_string(o.index) + " " +
        to_string(o.kind) + "-attention is not in the capture (it holds steps " +
        std::to_string(steps.front() + 1) + " to " + std::to_string(steps.back() + 1) + ")");
}

json site_json(const CapturedSite& c) {
    const auto& s = c.site;
    return {{"module", s.module},
            {"heads", s.heads},
            {"head_dim", s.head_dim},
            {"batch", c.q.size(0) / s.heads},
            {"seq_q", s.seq_q},
            {"seq_k", s.seq_k},
            {"height", s.height},
            {"width", s.width},
            {"dtype", c10::toString(c.q.scalar_type())}};
}

std::vector<double> as_doubles(const std::vector<int64_t>& v) {
    return {v.begin(), v.end()};
}

int bar_width(std::size_t bars) {
    return std::max(1, kChartWidth / static_cast<int>(bars));
}

// histogram.png: the exact scores' histogram, the int8 scores', and int8 minus exact (where mass moved).
void write_histogram_chart(const std::string& path, const ScoreHistogram& h) {
    std::vector<double> moved;
    for (std::size_t b = 0; b < h.exact.size(); ++b)
        moved.push_back(static_cast<double>(h.quantized[b]) - static_cast<double>(h.exact[b]));
    write_png(path, draw_bar_panels({{as_doubles(h.exact), kExactColour},
                                     {as_doubles(h.quantized), kInt8Colour},
                                     {moved, kErrorColour}},
                                    bar_width(h.exact.size()), kPanelHeight));
}

// p_error_by_key.png: per key token, the largest and the mean |P_int8 - P|.
void write_key_error_chart(const std::string& path, const std::vector<AbsError>& by_key) {
    std::vector<double> top, mean;
    for (const auto& e : by_key) {
        top.push_back(e.max_abs);
        mean.push_back(e.mean_abs);
    }
    write_png(path, draw_bar_panels({{top, kErrorColour}, {mean, kInt8Colour}}, bar_width(by_key.size()),
                                    kPanelHeight));
}

} // namespace

int cmd_inspect_int8(const std::vector<std::string>& argv) {
    CommandLine args("inspect-int8", "The int8 kernel's quantization of one captured call: block steps, "
                                     "saturation, score histograms, P error per head and key.");
    args.option("capture", "FILE", "the capture to read (generate --capture)");
    args.option("index", "N", "the attention site, from 1 (1..16 for SD)");
    args.option("step", "S", "the denoising step, from 1");
    args.option("kind", "cross|self", "which attention", "cross");
    args.option("bins", "N", "the score histograms' bins", "100");
    args.option("out", "DIR", "int8.json and the charts (default: the JSON on stdout)");
    if (!args.parse(argv)) return 0;
    const auto o = parse_options(args);
    const auto capture = read_capture_file(o.capture);
    const auto& site = find_site(capture, o);
    const auto inspection = inspect_int8(site.q, site.k, site.site.scale(), o.bins);

    json report{{"capture", o.capture},
                {"step", o.step},
                {"index", o.index},
                {"kind", to_string(o.kind)},
                {"site", site_json(site)},
                {"scale", site.site.scale()},
                {"quantization",
                 "per block of 64 tokens: step = max|x| / 127, x8 = round(x / step) to nearest, "
                 "ties to even; K minus its mean over tokens first"}};
    report.update(int8_inspection_json(inspection, site.site.heads));
    if (!o.out) {
        std::cout << report.dump(2) << "\n";
        return 0;
    }
    const fs::path out(*o.out);
    fs::create_directories(out);
    write_histogram_chart((out / "histogram.png").string(), inspection.histogram);
    write_key_error_chart((out / "p_error_by_key.png").string(), inspection.p_error_by_key);
    report["files"] = {"int8.json", "histogram.png", "p_error_by_key.png"};
    write_text((out / "int8.json").string(), report.dump(2) + "\n");
    std::printf(
        "wrote %s: int8.json, histogram.png, p_error_by_key.png; step %d index %d %s: P error max %.3g, "
        "mean %.3g; %lld of %lld Q and %lld of %lld K values at +-127\n",
        o.out->c_str(), o.step, o.index, to_string(o.kind), inspection.p_error.max_abs,
        inspection.p_error.mean_abs, report["q"]["saturated_total"].get<long long>(),
        report["q"]["values"].get<long long>(), report["k"]["saturated_total"].get<long long>(),
        report["k"]["values"].get<long long>());
    return 0;
}

} // namespace attnscope::cli
