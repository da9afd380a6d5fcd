// Trains the embedded default model (docs/tiny-model.md) and exports it as assets/tiny-sd.
//   train_tiny [--out DIR] [--resume] [--steps N] [--batch N] [--minutes M] [--device cuda|cpu]
//              [--dtype bf16|f32] [--export DIR] ...   (--help lists everything)
// A run is a pure function of its settings and seed: data, noise and timesteps of step s come from
// (seed, s), so a run cut into several calls (--minutes, --resume) trains as one uninterrupted run would
// (up to GPU reduction order and the checkpoint's bf16 moments).
#include "attention_eval.h"
#include "batch.h"
#include "contrast_twins.h"
#include "cross_attention_maps.h"
#include "export.h"
#include "flat_params.h"
#include "image_check.h"
#include "io/png_file.h"
#include "model/unet_loader.h"
#include "relation_attention_loss.h"
#include "relation_placement.h"
#include "relation_text_apart.h"
#include "sampler.h"
#include "sched/scheduler.h"
#include "shape_word_effect.h"
#include "text/clip_text_model.h"
#include "tiny_model.h"
#include "train_state.h"
#include "util/cpu_threads.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <c10/core/GradMode.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace attnscope;
using namespace attnscope::tiny;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Settings {
    std::string init_from; // a checkpoint or exported model folder whose weights a fine-tune starts from
    std::string out = ".tiny-ckpt", tokenizer = "assets/tiny-sd/tokenizer", export_dir, device = "cuda",
                dtype = "bf16";
    bool resume = false, export_only = false, eval_only = false, bidirectional_text = false;
    uint64_t seed = 1;
    int64_t steps = 6000;
    int batch = 128, warmup = 300, log_every = 50, eval_every = 1000, ckpt_every = 500, eval_scenes = 64,
        eval_images = 32, eval_shape_words = 2, threads = 0, coordinate_channels = 0;
    double lr = 6e-4, lr_final = 0.1, ema = 0.999, clip = 1.0, drop_caption = 0.1, attn_loss = 0.1,
           minutes = 0, offset_noise = 0, min_snr_gamma = 0, v_weight_cap = 0, shape_contrast = 0,
           unet_shape_contrast = 0, unet_contrast_margin = 0.05, unet_contrast_fraction = 0.5,
           unet_relation_share = 0, relation_contrast = 0, eval_guidance = 4, relation_attention = 0,
           relation_attention_margin = 0.1;
    int attn_max_t = 800, unet_contrast_min_t = 0, unet_relation_min_t = 0;
    std::string attn_loss_kind = "inside";
    std::string eval_spacing = "leading"; // the evaluation sampler's timestep spacing; not in the recipe
    std::string eval_dump; // where the evaluation's images and their checks go; not in the recipe

    // What must match when resuming: everything that changes the trajectory.
    nlohmann::json recipe() const {
        const char* id = bidirectional_text          ? kRecipeIdBidirectionalText
                         : relation_attention > 0    ? kRecipeIdRelationAttention
                         : coordinate_channels > 0   ? kRecipeIdCoordinates
                         : relation_contrast > 0     ? kRecipeIdRelationText
                         : unet_relation_share > 0   ? kRecipeIdRelationContrast
                         : unet_shape_contrast > 0   ? kRecipeIdUNetContrast
                         : shape_contrast > 0        ? kRecipeIdShapeContrast
                         : v_weight_cap > 0          ? kRecipeIdVWeight
                         : min_snr_gamma > 0         ? kRecipeIdMinSnr
                         : attn_loss_kind == "match" ? kRecipeIdMatch
                                                     : kRecipeId;
        nlohmann::json r = {{"recipe", id},
                            {"seed", seed},
                            {"steps", steps},
                            {"batch", batch},
                            {"lr", lr},
                            {"lr_final", lr_final},
                            {"warmup", warmup},
                            {"ema", ema},
                            {"clip", clip},
                            {"drop_caption", drop_caption},
                            {"attn_loss", attn_loss},
                            {"attn_max_t", attn_max_t},
                            {"dtype", dtype}};
        // r1 checkpoints predate these choices: "inside", from scratch.
        if (attn_loss_kind != "inside") r["attn_loss_kind"] = attn_loss_kind;
        if (!init_from.empty()) r["init_from"] = init_from;
        if (offset_noise > 0) r["offset_noise"] = offset_noise;
        if (min_snr_gamma > 0) r["min_snr_gamma"] = min_snr_gamma;
        if (v_weight_cap > 0) r["v_weight_cap"] = v_weight_cap;
        if (shape_contrast > 0) r["shape_contrast"] = shape_contrast;
        if (unet_shape_contrast > 0) {
            r["unet_shape_contrast"] = unet_shape_contrast;
            r["unet_contrast_margin"] = unet_contrast_margin;
            r["unet_contrast_fraction"] = unet_contrast_fraction;
            r["unet_contrast_min_t"] = unet_contrast_min_t;
            if (unet_relation_share > 0) r["unet_relation_share"] = unet_relation_share;
            if (unet_relation_min_t > 0) r["unet_relation_min_t"] = unet_relation_min_t;
        }
        if (relation_contrast > 0) r["relation_contrast"] = relation_contrast;
        if (coordinate_channels > 0) r["coordinate_channels"] = coordinate_channels;
        if (bidirectional_text) r["bidirectional_text"] = true;
        if (relation_attention > 0) {
            r["relation_attention"] = relation_attention;
            r["relation_attention_margin"] = relation_attention_margin;
        }
        return r;
    }
    bool watches_attention() const { return attn_loss > 0 || relation_attention > 0; }
    LocalizationLoss localization() const {
        return attn_loss_kind == "match" ? LocalizationLoss::Match : LocalizationLoss::Inside;
    }
};

const char* kUsage =
    "usage: train_tiny [options]\n"
    "  --out DIR            checkpoint folder (.tiny-ckpt): state.json, tensors, loss.csv, eval.csv\n"
    "  --resume             continue from --out when it holds a checkpoint\n"
    "  --steps N            total optimizer steps of the run (6000)\n"
    "  --batch N            scenes per step (128)\n"
    "  --minutes M          stop this call cleanly after M minutes (checkpoint written); 0: no limit\n"
    "  --device cuda|cpu    (cuda)     --dtype bf16|f32 compute precision (bf16; master weights fp32)\n"
    "  --seed N             (1)        --lr X (6e-4), --lr-final F (0.1 of lr, cosine), --warmup N (300)\n"
    "  --ema X              (0.999)    --clip X gradient norm (1.0), --drop-caption P (0.1)\n"
    "  --attn-loss W        weight of the attention localization loss (0.1); --attn-max-t T (800)\n"
    "  --offset-noise X     per-image, per-channel constant added to the noise (0; r2: 0.1), so that\n"
    "                       samples from pure noise reach the captioned background colour\n"
    "  --min-snr-gamma G    weight each sample's epsilon MSE by min(SNR, G) / SNR (0: off; r3: 5), so the\n"
    "                       nearly clean timesteps count less\n"
    "  --v-weight-cap C     weight it by min(1 + 1/SNR, C), mean 1 per batch (0: off; r4: 20): the\n"
    "                       v-prediction loss's weighting, so the noisy timesteps, where an object's\n"
    "                       shape is decided, count more\n"
    "  --shape-contrast W   add W x mean(max(0, 0.5 - d)), d the distance between the text encoder's\n"
    "                       unit-length outputs at a caption's first noun and at that noun naming\n"
    "                       another shape (0: off; r5: 0.1): else the encoder maps the four shape words\n"
    "                       to nearly one output and the U-Net cannot see which shape a caption names\n"
    "  --unet-shape-contrast W  run the U-Net a second time on the first --unet-contrast-fraction of the\n"
    "                       batch (0.5) with each caption's twin (its first noun naming another shape),\n"
    "                       and add W x mean(max(0, M - (mse_twin - mse) / mse)) over the captioned ones\n"
    "                       (0: off; r6): the prediction under the wrong shape word must be M worse, else\n"
    "                       the U-Net learns to read the shape from the noisy image and not the noun\n"
    "  --unet-contrast-margin M  (0.05)   --unet-contrast-min-t T  timesteps below T do not count (0)\n"
    "  --unet-relation-share P  of those twins whose caption has a relation, the share P whose twin names\n"
    "                       another relation instead of another shape (0: off; r9), so that the U-Net\n"
    "                       reads where the caption puts each phrase and not only what it draws\n"
    "  --unet-relation-min-t T  those relation twins count only from timestep T up (0), where the\n"
    "                       layout is still open: below it the noisy image shows where things are\n"
    "  --relation-contrast W  --shape-contrast for relations (0: off; r10): the text encoder's outputs at\n"
    "                       the second phrase's noun under the caption and under the opposite relation\n"
    "                       ('right of' for 'left of') kept apart; else the relation word reaches no\n"
    "                       later token (r6: 0.03 apart) and the U-Net cannot see where each phrase goes\n"
    "  --coordinate-channels N  2: the U-Net also sees x and y ramps beside the image (r12, CoordConv),\n"
    "                       so that it can tell left from right at the noisiest steps, where only its\n"
    "                       zero padding says where a pixel is (0: off). A fine-tune from a model\n"
    "                       without them starts with their conv_in weights at zero: the same function\n"
    "  --relation-attention W  add W x the relation term on the cross-attention maps (0: off; r13): the\n"
    "                       second phrase's attention centroid at least --relation-attention-margin (0.1,\n"
    "                       of the image's [-1, 1]) further along the relation than across it from the\n"
    "                       first's, at every timestep: placement relative to the other phrase, which the\n"
    "                       caption decides even where the noisy image does not say where things are\n"
    "  --bidirectional-text the text encoder without its causal mask (r14): a caption's first phrase\n"
    "                       then sees the relation after it, which a causal encoder passes on only to\n"
    "                       the second phrase, so the first could be placed only from where the second\n"
    "                       was drawn. A fine-tune from a causal model keeps its weights\n"
    "  --attn-loss-kind K   inside (r1: attention mass on the object) or match (r2: attention spread\n"
    "                       evenly over the object; the maps then cover it)\n"
    "  --log-every N (50), --ckpt-every N (500), --eval-every N (1000)\n"
    "  --eval-scenes N      held-out scenes for the attention score (64); --eval-images N samples (32)\n"
    "  --eval-guidance G    classifier-free guidance of the sampled images (4)\n"
    "  --eval-spacing S     leading|trailing: the timesteps of their DDIM sampler (leading)\n"
    "  --eval-dump DIR      write the evaluation's images (NNN.png) and each one's check (checks.txt)\n"
    "  --eval-shape-words N captions whose first shape word is swapped (same seed) to see whether the\n"
    "                       images follow it (2)\n"
    "  --init-from DIR      start from the weights of the checkpoint (master and EMA) or of the exported\n"
    "                       model (e.g. assets/tiny-sd) in DIR: a fine-tune with fresh optimizer state and\n"
    "                       its own step count\n"
    "  --tokenizer DIR      (assets/tiny-sd/tokenizer)\n"
    "  --export DIR         write the EMA model as a diffusers-style folder at the end\n"
    "  --export-only        with --export: load the checkpoint from --out and export it, nothing else\n"
    "  --eval-only          load the checkpoint from --out and evaluate its EMA weights, nothing else\n"
    "  --threads N          CPU threads (default: ATen's)\n";

Settings parse(int argc, char** argv) {
    Settings s;
    std::map<std::string, std::string> v;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (a == "--resume") {
            s.resume = true;
            continue;
        }
        if (a == "--export-only") {
            s.resume = s.export_only = true;
            continue;
        }
        if (a == "--bidirectional-text") {
            s.bidirectional_text = true;
            continue;
        }
        if (a == "--eval-only") {
            s.resume = s.eval_only = true;
            continue;
        }
        if (a.rfind("--", 0) != 0 || i + 1 >= argc)
            throw std::invalid_argument("bad argument '" + a + "' (see --help)");
        v[a.substr(2)] = argv[++i];
    }
    const auto take = [&](const char* key, auto& field) {
        const auto it = v.find(key);
        if (it == v.end()) return;
        std::istringstream in(it->second);
        in >> field;
        if (!in || !in.eof())
            throw std::invalid_argument(std::string("--") + key + ": bad value '" + it->second + "'");
        v.erase(it);
    };
    take("out", s.out), take("tokenizer", s.tokenizer), take("export", s.export_dir),
        take("device", s.device);
    take("dtype", s.dtype), take("seed", s.seed), take("steps", s.steps), take("batch", s.batch);
    take("warmup", s.warmup), take("log-every", s.log_every), take("eval-every", s.eval_every);
    take("ckpt-every", s.ckpt_every), take("eval-scenes", s.eval_scenes), take("eval-images", s.eval_images);
    take("eval-shape-words", s.eval_shape_words), take("eval-guidance", s.eval_guidance);
    take("threads", s.threads), take("lr", s.lr), take("lr-final", s.lr_final), take("ema", s.ema);
    take("clip", s.clip), take("drop-caption", s.drop_caption), take("attn-loss", s.attn_loss);
    take("attn-max-t", s.attn_max_t), take("minutes", s.minutes), take("attn-loss-kind", s.attn_loss_kind);
    take("init-from", s.init_from), take("offset-noise", s.offset_noise),
        take("min-snr-gamma", s.min_snr_gamma), take("v-weight-cap", s.v_weight_cap);
    take("shape-contrast", s.shape_contrast), take("unet-shape-contrast", s.unet_shape_contrast);
    take("unet-contrast-margin", s.unet_contrast_margin),
        take("unet-contrast-fraction", s.unet_contrast_fraction),
        take("unet-relation-share", s.unet_relation_share);
    take("unet-relation-min-t", s.unet_relation_min_t), take("relation-contrast", s.relation_contrast);
    take("unet-contrast-min-t", s.unet_contrast_min_t), take("eval-spacing", s.eval_spacing);
    take("eval-dump", s.eval_dump);
    take("coordinate-channels", s.coordinate_channels), take("relation-attention", s.relation_attention);
    take("relation-attention-margin", s.relation_attention_margin);
    if (!v.empty()) throw std::invalid_argument("unknown option --" + v.begin()->first + " (see --help)");
    if (s.dtype != "bf16" && s.dtype != "f32") throw std::invalid_argument("--dtype must be bf16 or f32");
    if (s.eval_spacing != "leading" && s.eval_spacing != "trailing")
        throw std::invalid_argument("--eval-spacing must be leading or trailing");
    if (s.attn_loss_kind != "inside" && s.attn_loss_kind != "match")
        throw std::invalid_argument("--attn-loss-kind must be inside (r1) or match (r2)");
    if (s.min_snr_gamma > 0 && s.v_weight_cap > 0)
        throw std::invalid_argument("--min-snr-gamma and --v-weight-cap are two weightings: pass one");
    if (s.v_weight_cap < 0 || (s.v_weight_cap > 0 && s.v_weight_cap < 1))
        throw std::invalid_argument("--v-weight-cap must be 0 (off) or at least 1");
    if (s.shape_contrast < 0 || s.relation_contrast < 0)
        throw std::invalid_argument("--shape-contrast and --relation-contrast must be at least 0");
    if (s.unet_relation_share < 0 || s.unet_relation_share > 1 ||
        (s.unet_relation_share > 0 && s.unet_shape_contrast <= 0))
        throw std::invalid_argument(
            "--unet-relation-share must be in [0, 1] and needs --unet-shape-contrast");
    if (s.unet_relation_min_t > 0 && s.unet_relation_share <= 0)
        throw std::invalid_argument("--unet-relation-min-t needs --unet-relation-share");
    if (s.unet_shape_contrast < 0 || s.unet_contrast_margin <= 0 || s.unet_contrast_fraction <= 0 ||
        s.unet_contrast_fraction > 1)
        throw std::invalid_argument("--unet-shape-contrast must be at least 0, --unet-contrast-margin "
                                    "positive and --unet-contrast-fraction in (0, 1]");
    if (s.batch < 1 || s.steps < 0) throw std::invalid_argument("--batch must be positive and --steps >= 0");
    return s;
}

double learning_rate(const Settings& s, int64_t step) {
    if (step < s.warmup) return s.lr * (step + 1) / s.warmup;
    const double p =
        std::min(1.0, static_cast<double>(step - s.warmup) / std::max<int64_t>(1, s.steps - s.warmup));
    return s.lr * (s.lr_final + (1 - s.lr_final) * 0.5 * (1 + std::cos(3.14159265358979323846 * p)));
}

// Everything random about one step, made on the CPU from (seed, step) alone.
struct StepInputs {
    SceneBatch batch;
    at::Tensor noise, timesteps;
    ContrastTwins contrast;
};

// Past this distance between their unit-length outputs two captions' words count as apart: colour words,
// which the U-Net does follow, sit 0.43 apart in the r2 model, shape words 0.025. A distance (not a cosine,
// whose gradient vanishes as two outputs meet) so the push is as strong at the collapse as near the margin.
constexpr double kTextContrastMargin = 0.5;

// 0 once every caption's output at its noun lies kTextContrastMargin from its twin's (the caption naming
// another shape, or the opposite relation), both at unit length; `weight` is 0 for samples without a twin.
at::Tensor text_contrast_loss(const at::Tensor& context, const at::Tensor& twin,
                              const at::Tensor& noun_positions, const at::Tensor& weight) {
    const auto unit_noun = [&](const at::Tensor& h) {
        const auto index = noun_positions.view({-1, 1, 1}).expand({-1, 1, h.size(2)});
        const auto noun = h.gather(1, index).squeeze(1).to(at::kFloat);
        return noun / noun.norm(2, 1, true).clamp_min(1e-6);
    };
    const auto apart = (unit_noun(context) - unit_noun(twin)).norm(2, 1);
    return ((kTextContrastMargin - apart).clamp_min(0) * weight).sum() / weight.sum().clamp_min(1);
}

// 0 once each weighted sample's epsilon MSE under its twin caption (same noisy image, timestep and noise) is
// `margin` above its MSE under its own caption, relative to the latter: a relative gap, because the MSE
// spans orders of magnitude over the timesteps. The divisor is detached so the term stays linear in both
// MSEs; `mse` itself keeps its gradient, so the gap may open by the right caption's prediction getting
// better as well as by the twin's moving to the shape it names, and not only by the twin's getting worse.
at::Tensor unet_contrast_loss(const at::Tensor& mse, const at::Tensor& twin_mse, const at::Tensor& weight,
                              double margin) {
    const auto gap = (twin_mse - mse) / mse.detach().clamp_min(1e-12);
    return ((margin - gap).clamp_min(0) * weight).sum() / weight.sum().clamp_min(1);
}

StepInputs make_inputs(const Settings& s, const ClipTokenizer& tokenizer, int64_t step) {
    StepInputs in;
    in.batch = make_batch(s.seed, static_cast<uint64_t>(step) * s.batch, s.batch, Split::Train, tokenizer,
                          s.drop_caption);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(s.seed * 1000003ULL + static_cast<uint64_t>(step));
    in.timesteps = at::randint(0, kTrainTimesteps, {s.batch}, gen, at::kLong);
    in.noise = at::randn(in.batch.images.sizes(), gen);
    // Offset noise: a random constant per image and channel on top of the i.i.d. noise. SD's schedule
    // leaves ~7% of the image at t = 999, so without it the model learns that an image's mean colour
    // survives all noising and, sampling from pure noise, paints every background a middle grey.
    if (s.offset_noise > 0) in.noise += at::randn({s.batch, 3, 1, 1}, gen) * s.offset_noise;
    TwinOptions twins;
    twins.shape = s.shape_contrast > 0 || s.unet_shape_contrast > 0;
    twins.relation_share = s.unet_relation_share;
    twins.opposite_relation = s.relation_contrast > 0;
    in.contrast =
        make_contrast_twins(in.batch, tokenizer, twins, s.seed, static_cast<uint64_t>(step) * s.batch, gen);
    return in;
}

void append_line(const fs::path& file, const std::string& header, const std::string& line) {
    const bool fresh = !fs::exists(file);
    std::ofstream out(file, std::ios::app);
    if (fresh) out << header << "\n";
    out << line << "\n";
    if (!out) throw std::runtime_error(file.string() + ": cannot be written");
}

// After a resume, rows past the checkpoint's step were written by a call that did not get to save.
void truncate_log(const fs::path& file, int64_t step) {
    if (!fs::exists(file)) return;
    std::ifstream in(file);
    std::string header, line, kept;
    std::getline(in, header);
    while (std::getline(in, line))
        if (!line.empty() && std::stoll(line.substr(0, line.find(','))) <= step) kept += line + "\n";
    in.close();
    std::ofstream out(file, std::ios::trunc);
    out << header << "\n" << kept;
}

struct ImageCounts {
    int images = 0, recognisable = 0, colors = 0, shapes = 0, relations = 0, backgrounds = 0;
    void add(const ImageCheck& c) {
        ++images;
        recognisable += c.recognisable(), colors += c.colors, shapes += c.shapes;
        relations += c.relation, backgrounds += c.background;
    }
};

// The fixed set: the first 32 held-out captions.
constexpr int kFixedImageSet = 32;

struct Evaluation {
    AttentionEvalResult attention;
    int images = 0, recognisable = 0, colors = 0, shapes = 0, relations = 0, backgrounds = 0;
    ImageCounts first; // over the first kFixedImageSet captions, when more were sampled
    ShapeWordEffect shape_words;
    double relation_text_apart = 0;
    RelationPlacement placement; // over the first eval_scenes held-out captions
};

Evaluation evaluate(const Settings& s, const FlatParams& flat, const at::Tensor& weights,
                    const ClipTokenizer& tokenizer, at::Device device) {
    const auto unet = flat.unet(weights);
    const auto text = flat.text(weights);
    std::vector<Scene> scenes;
    for (int i = 0; i < std::max({s.eval_scenes, s.eval_images, s.eval_shape_words}); ++i)
        scenes.push_back(sample_scene(s.seed, static_cast<uint64_t>(i), Split::HeldOut));
    Evaluation e;
    AttentionEvalOptions ao;
    ao.self_backend = device.is_cuda() ? "sdpa" : "flash"; // flash: our CPU kernel there
    ao.batch = device.is_cuda() ? 16 : 2;
    if (s.eval_scenes > 0) {
        e.attention = evaluate_attention(
            unet, text, tokenizer, std::vector<Scene>(scenes.begin(), scenes.begin() + s.eval_scenes), ao);
        RelationPlacementOptions po;
        po.self_backend = ao.self_backend;
        po.batch = ao.batch;
        e.placement = evaluate_relation_placement(unet, text, tokenizer, s.seed, s.eval_scenes, po);
    }
    if (s.eval_images > 0) {
        std::vector<std::string> captions;
        for (int i = 0; i < s.eval_images; ++i) captions.push_back(scenes[i].caption());
        AttentionRouter router;
        SampleOptions so;
        so.guidance = s.eval_guidance;
        so.spacing = s.eval_spacing == "trailing" ? TimestepSpacing::Trailing : TimestepSpacing::ClassDefault;
        // One noise draw for all N: the first 32 images start from the same noise as a 32-image evaluation.
        const auto images = sample_images(unet, text, tokenizer, captions, router, so);
        std::ofstream checks;
        if (!s.eval_dump.empty()) {
            fs::create_directories(s.eval_dump);
            checks.open(fs::path(s.eval_dump) / "checks.txt");
        }
        for (int i = 0; i < s.eval_images; ++i) {
            const auto rgb = to_rgb_bytes(images[i]);
            const auto c = check_image(rgb, scenes[i]);
            if (checks.is_open()) {
                char name[16];
                std::snprintf(name, sizeof name, "%03d.png", i);
                write_png((fs::path(s.eval_dump) / name).string(), Image8{kImageSize, kImageSize, 3, rgb});
                checks << name << '\t' << scenes[i].caption() << '\t' << c.describe() << '\n';
            }
            ++e.images;
            e.recognisable += c.recognisable(), e.colors += c.colors, e.shapes += c.shapes;
            e.relations += c.relation, e.backgrounds += c.background;
            if (i < kFixedImageSet && s.eval_images > kFixedImageSet) e.first.add(c);
        }
    }
    e.relation_text_apart = relation_text_apart(text, tokenizer, scenes);
    if (s.eval_shape_words > 0) {
        AttentionRouter router;
        e.shape_words = shape_word_effect(
            unet, text, tokenizer, std::vector<Scene>(scenes.begin(), scenes.begin() + s.eval_shape_words),
            router);
    }
    return e;
}

void print_evaluation(const Evaluation& e, int64_t step) {
    std::printf("eval step %lld: %s; images %d: recognisable %d, colours %d, shapes %d, relations %d, "
                "backgrounds %d; swapping the shape word moves the image %.2f/255, another seed %.2f/255, "
                "the text encoder's output at the noun %.3f, at the second noun under the opposite relation "
                "%.3f; on pure noise the attention places %d of %d relation captions' phrases right\n",
                static_cast<long long>(step), e.attention.summary().c_str(), e.images, e.recognisable,
                e.colors, e.shapes, e.relations, e.backgrounds, e.shape_words.shape_swap,
                e.shape_words.other_seed, e.shape_words.noun_text_apart, e.relation_text_apart,
                e.placement.right, e.placement.captions);
    if (e.first.images > 0)
        std::printf(
            "eval step %lld, the first %d images: recognisable %d, colours %d, shapes %d, relations %d, "
            "backgrounds %d\n",
            static_cast<long long>(step), e.first.images, e.first.recognisable, e.first.colors,
            e.first.shapes, e.first.relations, e.first.backgrounds);
    std::fflush(stdout);
}

int export_ema(const Settings& s, const FlatParams& flat, const TrainState& state) {
    const nlohmann::json training = {
        {"recipe_id", s.recipe().at("recipe")}, {"steps_done", state.step()}, {"settings", s.recipe()}};
    const auto ema = state.ema().to(at::kCPU);
    export_model(s.export_dir, flat.unet(ema), flat.text(ema), s.tokenizer, training);
    std::printf("exported the EMA weights of step %lld to %s\n", static_cast<long long>(state.step()),
                s.export_dir.c_str());
    return 0;
}

// A text encoder trained without the causal mask (r14) has learnt to read ahead: under the mask again it
// would read its captions wrong.
void check_text_direction(const std::string& from, bool causal_from, const FlatParams& flat) {
    if (!causal_from && flat.text_config().causal)
        throw std::runtime_error(
            "--init-from " + from +
            ": its text encoder reads captions both ways (r14); pass --bidirectional-text");
}

// From a checkpoint folder (state.json: master and EMA) or an exported model folder (its fp16 weights).
void start_fine_tune(TrainState& state, const FlatParams& flat, const std::string& from) {
    if (TrainState::exists(from)) {
        const auto info = state.load_weights(from);
        check_text_direction(from, !info.at("recipe").value("bidirectional_text", false), flat);
        std::printf("fine-tuning the weights of %s (step %lld)\n", from.c_str(),
                    static_cast<long long>(info.at("step").get<int64_t>()));
        return;
    }
    if (!fs::is_regular_file(fs::path(from) / "model_index.json"))
        throw std::runtime_error(
            "--init-from " + from +
            ": neither a checkpoint (state.json) nor an exported model (model_index.json)");
    const auto unet = load_unet(open_unet_checkpoint(from), at::kFloat, at::kCPU);
    const auto text = ClipTextModel::load(from, at::kFloat, at::kCPU);
    check_text_direction(from, text.config().causal, flat);
    state.start_from(flat.pack(unet, text));
    std::printf("fine-tuning the exported model in %s\n", from.c_str());
}

// Per-sample weights of the epsilon MSE from each sample's alpha_bar; undefined: uniform. Min-SNR-gamma (Hang
// et al. 2023) lowers the nearly clean timesteps. 1 + 1/SNR is the v-prediction loss written in epsilon
// terms: it raises the noisy timesteps, where an eps-MSE barely sees an object's shape (its x0 error counts
// SNR times as much); capped, and normalised so that the attention loss keeps its share.
at::Tensor mse_weights(const Settings& s, const at::Tensor& alpha_bar) {
    const auto snr = alpha_bar / (1 - alpha_bar);
    if (s.min_snr_gamma > 0) return snr.clamp_max(s.min_snr_gamma) / snr;
    if (s.v_weight_cap > 0) {
        const auto w = (1 + 1 / snr).clamp_max(s.v_weight_cap);
        return w / w.mean();
    }
    return {};
}

int run(const Settings& s) {
    configure_cpu_threads();
    if (s.threads > 0) at::set_num_threads(s.threads);
    const at::Device device(s.device);
    // Fixed shapes every step: let cuDNN pick its fastest convolutions once.
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
    const auto dtype = s.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
    const ClipTokenizer tokenizer(s.tokenizer);
    const FlatParams flat(tiny_unet_config(s.coordinate_channels),
                          tiny_text_config(static_cast<int>(tokenizer.vocab_size()), !s.bidirectional_text));
    std::printf("tiny model: U-Net %.3fM + text %.3fM parameters; %s; %s\n", flat.unet_size() / 1e6,
                flat.text_size() / 1e6, flat.unet_config().describe().c_str(),
                flat.text_config().describe().c_str());

    TrainState state(flat.initial(s.seed).to(device), flat.decay_mask());
    const fs::path out = s.out;
    if (s.resume && TrainState::exists(s.out)) {
        const auto info = state.load(s.out);
        if (info.at("recipe") != s.recipe())
            throw std::runtime_error(s.out + "/state.json: the checkpoint was trained with other settings (" +
                                     info.at("recipe").dump() + "); pass the same ones or another --out");
        truncate_log(out / "loss.csv", state.step());
        truncate_log(out / "eval.csv", state.step());
        std::printf("resumed at step %lld from %s\n", static_cast<long long>(state.step()), s.out.c_str());
    } else if (TrainState::exists(s.out)) {
        throw std::runtime_error(s.out + " already holds a checkpoint: pass --resume, or another --out");
    } else if (!s.init_from.empty()) {
        start_fine_tune(state, flat, s.init_from);
    }
    if (s.export_only) {
        if (s.export_dir.empty() || !TrainState::exists(s.out))
            throw std::runtime_error("--export-only needs --export DIR and a checkpoint in --out");
        return export_ema(s, flat, state);
    }
    if (s.eval_only) {
        if (!TrainState::exists(s.out)) throw std::runtime_error("--eval-only needs a checkpoint in --out");
        print_evaluation(evaluate(s, flat, state.ema(), tokenizer, device), state.step());
        return 0;
    }
    fs::create_directories(out);
    nlohmann::json info = {{"recipe", s.recipe()}};

    // The models compute with views into `work`, a copy of the fp32 master in the compute dtype.
    auto work = at::empty({flat.size()}, at::TensorOptions().dtype(dtype).device(device));
    const auto unet = flat.unet(work, true);
    const auto text = flat.text(work, true);
    const auto configure = [&](AttentionRouter& r) {
        r.set_default_backend(device.is_cuda() ? "sdpa" : "math");
        if (s.watches_attention())
            for (int i = 1; i <= 16; ++i) r.set_site_backend(i, AttentionKind::Cross, "math");
    };
    // The twin captions' forward (--unet-shape-contrast) runs the same kernels, so that its MSE differs
    // from the real one's by the caption alone, but unobserved: the localization loss is about the real
    // captions' maps.
    AttentionRouter router, twin_router;
    configure(router), configure(twin_router);
    CrossAttentionCollector collector;
    if (s.watches_attention()) router.add_observer(&collector);
    const int64_t twins =
        std::max<int64_t>(1, std::llround(s.unet_contrast_fraction * static_cast<double>(s.batch)));
    const auto alphas = at::tensor(sd_alphas_cumprod(), at::kFloat).to(device);
    const AdamWOptions adam;

    const auto start = Clock::now();
    const auto minutes = [&] { return std::chrono::duration<double>(Clock::now() - start).count() / 60; };
    auto next = std::async(std::launch::async, make_inputs, std::cref(s), std::cref(tokenizer), state.step());
    at::Tensor sum_mse = at::zeros({}, alphas.options()), sum_attn = at::zeros_like(sum_mse),
               sum_contrast = at::zeros_like(sum_mse), sum_unet_contrast = at::zeros_like(sum_mse),
               sum_relation_contrast = at::zeros_like(sum_mse), sum_unet_relation = at::zeros_like(sum_mse),
               sum_relation_attention = at::zeros_like(sum_mse), sum_gnorm = at::zeros_like(sum_mse);
    int since_log = 0;
    double data_wait = 0; // seconds the loop waited for the CPU to make a batch, since the last log
    auto log_time = Clock::now();
    const auto save = [&] {
        state.save(s.out, info);
        std::printf("checkpoint: step %lld -> %s (%.1f min)\n", static_cast<long long>(state.step()),
                    s.out.c_str(), minutes());
    };
    const auto run_eval = [&] {
        const auto e = evaluate(s, flat, state.ema(), tokenizer, device);
        char line[400];
        std::snprintf(
            line, sizeof line, "%lld,%.4f,%.4f,%.4f,%d,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.4f,%.4f,%.4f",
            static_cast<long long>(state.step()), e.attention.mean_iou, e.attention.hit_rate,
            e.attention.background_iou, e.images, e.images ? double(e.recognisable) / e.images : 0.0,
            e.images ? double(e.colors) / e.images : 0.0, e.images ? double(e.shapes) / e.images : 0.0,
            e.images ? double(e.relations) / e.images : 0.0, e.shape_words.shape_swap,
            e.shape_words.other_seed, e.shape_words.noun_text_apart, e.relation_text_apart,
            e.placement.rate());
        append_line(out / "eval.csv",
                    "step,mean_iou,pointing,background_iou,images,recognisable,colors,shapes,relations,"
                    "shape_swap_diff,other_seed_diff,noun_text_apart,relation_text_apart,relation_placement",
                    line);
        print_evaluation(e, state.step());
    };

    while (state.step() < s.steps) {
        if (s.minutes > 0 && minutes() > s.minutes) break;
        const int64_t step = state.step();
        const auto wait_start = Clock::now();
        const auto inputs = next.get();
        data_wait += std::chrono::duration<double>(Clock::now() - wait_start).count();
        if (step + 1 < s.steps)
            next = std::async(std::launch::async, make_inputs, std::cref(s), std::cref(tokenizer), step + 1);
        const auto b = inputs.batch.to(device);
        const auto noise = inputs.noise.to(device);
        const auto t = inputs.timesteps.to(device);
        {
            const c10::NoGradGuard no_grad;
            work.copy_(state.master());
        }
        const auto a = alphas.index_select(0, t).view({-1, 1, 1, 1});
        const auto noisy = b.images * a.sqrt() + noise * (1 - a).sqrt();
        collector.clear();
        const auto context = text.forward(b.ids);
        const auto pred = unet.forward(noisy, t.to(at::kFloat), context, router);
        const auto sample_mse = (pred.to(at::kFloat) - noise).pow(2).mean({1, 2, 3});
        const auto mse = sample_mse.mean();
        const auto weights = mse_weights(s, a.view({-1}));
        auto loss = weights.defined() ? (sample_mse * weights).mean() : mse;
        at::Tensor attn = at::zeros({}, mse.options()), contrast = at::zeros_like(attn),
                   unet_contrast = at::zeros_like(attn), relation_contrast = at::zeros_like(attn),
                   unet_relation_contrast = at::zeros_like(attn), relation_attention = at::zeros_like(attn);
        const auto twin_context = inputs.contrast.shape_ids.defined()
                                      ? text.forward(inputs.contrast.shape_ids.to(device))
                                      : at::Tensor();
        if (s.shape_contrast > 0) {
            contrast = text_contrast_loss(context, twin_context, inputs.contrast.noun_positions.to(device),
                                          inputs.contrast.shape_weight.to(device));
            loss = loss + contrast * s.shape_contrast;
        }
        if (s.relation_contrast > 0) {
            relation_contrast = text_contrast_loss(
                context, text.forward(inputs.contrast.relation_ids.to(device)),
                inputs.contrast.relation_positions.to(device), inputs.contrast.relation_weight.to(device));
            loss = loss + relation_contrast * s.relation_contrast;
        }
        if (s.unet_shape_contrast > 0) {
            // The text encoder gets this term's gradient too: a twin is an ordinary caption of other scenes,
            // so its output cannot be bent to fail here without failing there.
            const auto unet_twin_context =
                s.unet_relation_share > 0
                    ? text.forward(inputs.contrast.unet_ids.narrow(0, 0, twins).to(device))
                    : twin_context.narrow(0, 0, twins);
            const auto twin_pred =
                unet.forward(noisy.narrow(0, 0, twins), t.narrow(0, 0, twins).to(at::kFloat),
                             unet_twin_context, twin_router);
            const auto twin_mse =
                (twin_pred.to(at::kFloat) - noise.narrow(0, 0, twins)).pow(2).mean({1, 2, 3});
            const auto relation_twin = inputs.contrast.unet_relation.narrow(0, 0, twins).to(device);
            const auto min_t = at::where(relation_twin.gt(0), s.unet_relation_min_t, s.unet_contrast_min_t);
            const auto weight = b.dropped.narrow(0, 0, twins)
                                    .logical_not()
                                    .logical_and(t.narrow(0, 0, twins).ge(min_t))
                                    .to(at::kFloat);
            unet_contrast =
                unet_contrast_loss(sample_mse.narrow(0, 0, twins), twin_mse, weight, s.unet_contrast_margin);
            // Logged apart: whether the relation twins' gap opens at all (r9's never did).
            unet_relation_contrast =
                unet_contrast_loss(sample_mse.narrow(0, 0, twins).detach(), twin_mse.detach(),
                                   weight * relation_twin, s.unet_contrast_margin);
            loss = loss + unet_contrast * s.unet_shape_contrast;
        }
        if (s.attn_loss > 0) {
            const auto weight = b.dropped.logical_not().logical_and(t.le(s.attn_max_t)).to(at::kFloat);
            attn = attention_localization_loss(collector.maps(), b.token_labels, b.coverage, weight,
                                               s.localization());
            loss = loss + attn * s.attn_loss;
        }
        if (s.relation_attention > 0) {
            relation_attention = relation_attention_loss(
                collector.maps(), b.token_labels, relation_directions(b.scenes).to(device),
                b.dropped.logical_not(), s.relation_attention_margin);
            loss = loss + relation_attention * s.relation_attention;
        }
        loss.backward();
        collector.clear(); // the maps hold the graph's activations

        auto grad = flat.take_grads(unet, text);
        const auto gnorm = grad.norm();
        grad.mul_((s.clip / (gnorm + 1e-6)).clamp_max(1.0));
        {
            const c10::NoGradGuard no_grad;
            state.adamw_step(grad, learning_rate(s, step), adam);
            state.update_ema(std::min(s.ema, (1.0 + state.step()) / (10.0 + state.step())));
        }
        sum_mse += mse.detach(), sum_attn += attn.detach(), sum_contrast += contrast.detach(),
            sum_unet_contrast += unet_contrast.detach(), sum_relation_contrast += relation_contrast.detach(),
            sum_unet_relation += unet_relation_contrast,
            sum_relation_attention += relation_attention.detach(), sum_gnorm += gnorm;
        ++since_log;

        if (state.step() % s.log_every == 0 || state.step() == s.steps) {
            const double secs = std::chrono::duration<double>(Clock::now() - log_time).count();
            const double m = sum_mse.item<double>() / since_log, at_l = sum_attn.item<double>() / since_log,
                         c = sum_contrast.item<double>() / since_log,
                         uc = sum_unet_contrast.item<double>() / since_log,
                         rc = sum_relation_contrast.item<double>() / since_log,
                         urc = sum_unet_relation.item<double>() / since_log,
                         ra = sum_relation_attention.item<double>() / since_log,
                         g = sum_gnorm.item<double>() / since_log,
                         total = m + s.attn_loss * at_l + s.shape_contrast * c + s.unet_shape_contrast * uc +
                                 s.relation_contrast * rc + s.relation_attention * ra;
            char line[300];
            std::snprintf(line, sizeof line,
                          "%lld,%.6f,%.6f,%.6f,%.3e,%.4f,%.2f,%.1f,%.6f,%.6f,%.6f,%.6f,%.6f",
                          static_cast<long long>(state.step()), total, m, at_l, learning_rate(s, step), g,
                          minutes() * 60, since_log * s.batch / secs, c, uc, rc, urc, ra);
            append_line(out / "loss.csv",
                        "step,loss,mse,attn_loss,lr,grad_norm,seconds_this_call,images_per_s,shape_contrast,"
                        "unet_contrast,relation_contrast,unet_relation_contrast,relation_attention",
                        line);
            std::printf("step %lld  loss %.5f  mse %.5f  attn %.4f  shape contrast %.4f  unet contrast %.4f "
                        "(relation twins %.4f)  relation contrast %.4f  relation attention %.4f  lr %.2e  "
                        "|g| %.3f  %.0f img/s (%.0f%% waiting for data)  %.1f min\n",
                        static_cast<long long>(state.step()), total, m, at_l, c, uc, urc, rc, ra,
                        learning_rate(s, step), g, since_log * s.batch / secs, 100 * data_wait / secs,
                        minutes());
            data_wait = 0;
            std::fflush(stdout);
            sum_mse.zero_(), sum_attn.zero_(), sum_contrast.zero_(), sum_unet_contrast.zero_(),
                sum_relation_contrast.zero_(), sum_unet_relation.zero_(), sum_relation_attention.zero_(),
                sum_gnorm.zero_();
            since_log = 0;
            log_time = Clock::now();
        }
        if (state.step() % s.ckpt_every == 0) save();
        if (s.eval_every > 0 && state.step() % s.eval_every == 0 && state.step() < s.steps) run_eval();
    }
    if (next.valid()) next.wait();
    save();
    if (s.eval_scenes > 0 || s.eval_images > 0 || s.eval_shape_words > 0) run_eval();
    return s.export_dir.empty() ? 0 : export_ema(s, flat, state);
}

} // namespace

int main(int argc, char** argv) try { return run(parse(argc, argv)); } catch (const std::exception& e) {
    std::fprintf(stderr, "train_tiny: %s\n", e.what());
    return 1;
}
