#pragma once
// What the worker thread hands the UI: plain values only, so the UI files need no LibTorch headers.
#include "model/lora_use.h"
#include "render/map_image.h"
#include "text/prompt_guide.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace attnscope::gui {

// The generation the model panel describes.
struct RunSettings {
    // A caption in the embedded model's grammar, which a first run loads (SD reads it as well): that model
    // knows 31 words, and any other prompt falls apart into single letters there.
    std::string prompt = "a red circle left of a blue square on a black background";
    std::string negative_prompt;
    uint64_t seed = 1234;
    int steps = 20;
    std::optional<double> guidance_scale; // none: the model's own (Pipeline::default_guidance)
    std::string scheduler = "ddim";
    int width = 0, height = 0; // 0: the model's own size
    std::string backend = "auto";
    std::string start_image; // a picture: the run starts from it, or reads it; empty: from noise
    double strength = 0.8;   // starting from it: the share of the schedule that runs
    // Reading it instead (attention on an existing picture): every step noises it to one of these
    // timesteps, each with `reading_noises` draws; nothing is denoised.
    bool read_picture = false;
    std::string reading_timesteps = "200,400,600";
    int reading_noises = 2;
};

enum class HeadMode { Single, Mean, Max };

// What a map's values are (core's MapQuantity): P, the logits before the softmax, or each query's entropy.
enum class Quantity { Probability, Score, Entropy };
// Which half of the guidance batch the maps are of: the prompt's, the negative prompt's, or cond - uncond.
enum class GuidanceHalf { Cond, Uncond, Diff };

const char* quantity_name(Quantity q); // "probability", "score", "entropy", as attnscope maps --quantity
const char* half_name(GuidanceHalf h); // "cond", "uncond", "diff", as attnscope maps --batch

// What the views show; the worker recomputes the maps whenever it changes.
struct ViewRequest {
    int step = -1;                 // a step done (0-based); -1: the latest, following the run
    int steps_from = -1;           // >= 0: the maps average the steps from this one to `step`
    int index = 1;                 // the site (1..16 for SD) of the main map, head grid, teaching panel
    bool aggregate = false;        // main map: sum of all sites on the latent grid (DAAM) instead of `index`
    bool self = false;             // self-attention of the query pixel instead of cross-attention of tokens
    std::vector<int> tokens;       // selected token positions (cross)
    std::vector<int> thumb_tokens; // what the index thumbnails show: the hovered token, else `tokens`
    HeadMode head_mode = HeadMode::Mean;
    int head = 0;
    float query_x = 0.5f, query_y = 0.5f; // [0, 1) of the image
    int branch = -1;                      // the kept branch shown beside the original (its id); -1: newest
    Quantity quantity = Quantity::Probability;
    GuidanceHalf half = GuidanceHalf::Cond;
    // Transformers (their modules, "down_blocks.2.attentions.0") whose blocks the index grid shows as one
    // tile: the sum of their maps, as DAAM sums sites. SDXL's are up to ten blocks deep.
    std::set<std::string> summed;
    bool operator==(const ViewRequest& o) const {
        return step == o.step && steps_from == o.steps_from && index == o.index && aggregate == o.aggregate &&
               self == o.self && tokens == o.tokens && thumb_tokens == o.thumb_tokens &&
               head_mode == o.head_mode && head == o.head && query_x == o.query_x && query_y == o.query_y &&
               branch == o.branch && quantity == o.quantity && half == o.half && summed == o.summed;
    }
    bool operator!=(const ViewRequest& o) const { return !(*this == o); }
};

// A map's values left in CUDA memory (fp32, row-major, contiguous) for CUDA-GL interop. `owner` keeps the
// memory alive (it holds the worker's tensor), so the UI files still need no LibTorch headers.
struct DeviceValues {
    std::shared_ptr<const void> owner;
    const float* data = nullptr;
    int device = 0; // CUDA device index
};

// A map as the views get it: host values (the MapImage part), CUDA memory, or both, and its extremes.
struct ViewMap : MapImage {
    DeviceValues device;
    float min_value = 0, max_value = 0; // over all values, computed by the worker
    bool empty() const { return MapImage::empty() && !device.data; }
    bool on_device() const { return device.data != nullptr; }
};

// The selection's map in two runs and |a - b|: the compare panel's P_A and P_B, or the original and a
// branch.
struct MapPair {
    ViewMap a, b, diff;
    std::string error; // why there is none (shown instead)
};

// Where one site's cross-attention goes (core's TokenMass): shares of the start token, the prompt's tokens,
// the end token and the padding, averaged over heads and queries; they sum to 1.
struct TokenShares {
    double start = 0, prompt = 0, end = 0, padding = 0;
};

// The token mass of one captured cross-attention call, both guidance halves.
struct TokenMassSite {
    int step = 0; // from 0
    int index = 0;
    TokenShares cond;
    std::optional<TokenShares> uncond; // under classifier-free guidance
};

struct MapResults {
    ViewRequest request;             // resolved: `step` is a step done, `steps_from` <= it or -1
    ViewMap main;                    // always has host values (Export map writes them)
    std::vector<int> main_sites;     // the sites the main map sums (one unless aggregated)
    std::vector<ViewMap> index_maps; // one per site of the model, index 1 first (empty where not captured)
    std::vector<ViewMap> head_maps;  // every head of the selected index, then the mean and the max
    std::string error;               // why a map could not be made (shown instead of it)
    MapPair compare;                 // when a comparison has run
    // The comparison's divergence grids, self and cross: a row per site (index 1 first), a column per
    // compared step, log10 of B's relative L2 error in the attention output (core/compare/divergence_grid.h's
    // scale).
    ViewMap divergence_self, divergence_cross;
    ValueRange divergence_range; // their colour scale
    MapPair branch;              // when a branch is kept
    // Under guidance: the selection's map of the prompt's half (a), of the negative prompt's (b) and
    // cond - uncond (diff, signed), whichever half the other views show.
    MapPair guidance;
    // Every captured cross-attention call's token mass, by step then index (whatever the selection).
    std::vector<TokenMassSite> token_mass;
    std::string token_mass_error;
};

// Which captured call an int8 inspection is of. `capture` is the worker's capture_version at the time, so a
// new session or a rewind makes the same step and index another call.
struct Int8Key {
    uint64_t capture = 0;
    int step = -1; // from 0
    int index = 0;
    bool self = false;
    bool operator==(const Int8Key& o) const {
        return capture == o.capture && step == o.step && index == o.index && self == o.self;
    }
    bool operator!=(const Int8Key& o) const { return !(*this == o); }
};

struct AbsErrorView {
    double max_abs = 0, mean_abs = 0;
};

// Q, or K after smoothing, as the int8 kernel quantizes it: per row (batch * heads + head) and block of 64
// tokens, the dequantization step and how many values landed on +-127.
struct Int8OperandView {
    std::vector<std::vector<float>> steps;
    std::vector<std::vector<int64_t>> saturated;
    int64_t saturated_total = 0, values = 0;
};

// core/compare/quant_inspector.h's inspection of one captured call, as attnscope inspect-int8 reports it.
struct Int8View {
    Int8Key key;
    std::string module;
    int heads = 0, head_dim = 0, rows = 0; // rows = batch items * heads
    int64_t seq_q = 0, seq_k = 0;
    double scale = 0;
    double lo = 0, hi = 0;                // the histograms' range: every score, exact or int8
    std::vector<double> exact, quantized; // counts per bin of equal width
    Int8OperandView q, k;
    AbsErrorView score_error, lse_error, p_error;
    std::vector<AbsErrorView> p_error_by_row; // per batch * heads + head
    std::vector<AbsErrorView> p_error_by_key; // per key token
    bool empty() const { return key.step < 0; }
};

// The walk-through's call and query: a step's site, a guidance half, a head and a query of the site's grid.
struct WalkKey {
    uint64_t capture = 0;
    int step = -1; // from 0
    int index = 0;
    bool self = false;
    int batch = -1; // -1: the last item, the prompt's half
    int head = 0;
    int64_t query = 0;
    bool operator==(const WalkKey& o) const {
        return capture == o.capture && step == o.step && index == o.index && self == o.self &&
               batch == o.batch && head == o.head && query == o.query;
    }
    bool operator!=(const WalkKey& o) const { return !(*this == o); }
};

// core/teach/query_walkthrough.h's stages of one query, as plain values for the walk-through tab: every
// number is the float64 recomputation from the captured Q, K and LSE and the step replayed for V and the
// hidden state.
struct WalkView {
    WalkKey key;
    std::string module;
    int width = 0, height = 0, heads = 0, head_dim = 0, batch_items = 0;
    double scale = 0;
    std::vector<std::string> key_labels; // tokens (cross) or "x,y" (self)
    std::vector<double> q, hidden, q_from_hidden;
    std::vector<double> key_norms; // |k_j|
    std::vector<double> scores, exps, probs, other_probs;
    double row_max = 0, exp_sum = 0, lse = 0, captured_lse = 0;
    std::vector<double> contributions; // keys x head_dim, row-major: P_j v_j
    std::vector<double> out, joined, projected;
    double guidance_scale = 1;
    int latent_x = 0, latent_y = 0;
    std::vector<double> eps_uncond, eps_cond, eps_guided;
    bool empty() const { return key.step < 0; }
};

struct RgbImage {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;
    int step = -1;     // whose x0 it is; -1: the current latents
    bool full = false; // decoded by the VAE (else TAESD, or the VAE when there is no TAESD)
};

// A LoRA-scale sweep (core/compare/lora_sweep.h) of the session's settings: the strip of images above and the
// chosen tokens' maps below (on one range), and what each scale's run gave.
struct SweepView {
    std::string lora;   // the swept LoRA's file
    std::string tokens; // the followed tokens' text
    std::vector<double> scales;
    RgbImage strip;
    int tile_width = 0, tile_height = 0, gap = 0;
    float lo = 0, hi = 0;  // the maps' range
    std::string runs_json; // lora_sweep_runs_json, for the export
    bool empty() const { return scales.empty(); }
};

// Two final images and their difference, with the numbers core/compare/image_metrics.h gives.
struct ImagePair {
    RgbImage a, b;
    RgbImage diff;              // |a - b| amplified so that the largest difference is white
    double psnr_db = 0;         // +infinity for identical images
    std::optional<double> ssim; // none for images smaller than its window
    double max_abs = 0;
};

// The image pairs the compare panel and the branch view show; `branch_id` is whose the second one is.
struct PairImages {
    ImagePair compare, branch;
    int branch_id = -1;
};

// What the compare panel asks for: B of the comparison (A is the loaded session).
struct CompareChoice {
    std::string backend = "sdpa"; // the router's default for B
    std::string dtype;            // f32, f16, bf16, f64; empty: A's
    bool same_inputs = true;      // else free-running
    int from_step = 0;            // A and B share the session's steps before this one (0: none)
    // B's model is A's with these LoRAs added (free running only): the model against itself with a LoRA.
    std::vector<LoraChoice> loras;
    // B runs this checkpoint of the same U-Net layout instead (a fine-tune; free running only); empty: A's.
    std::string model;
};

// A comparison that has run, for the compare panel's captions.
struct ComparisonSummary {
    std::string a, b; // "math f32"
    std::string mode; // "same-inputs", "free"
    int from_step = 0, steps = 0;
    std::string worst; // the call with the largest error, in words
};

// A kept branch: a session of its own re-run from `from_step` with attention edits.
struct BranchSummary {
    int id = 0;
    int from_step = 0;
    std::vector<std::string> edits;     // as given (attnscope edit's --edit grammar)
    std::vector<std::string> applied;   // what each became: token positions, sites, steps
    std::vector<double> latents_rel_l2; // per re-run step: its latents against the original's
    double psnr_db = 0;                 // of its final image against the original's
};

// One attention site of the loaded model at the chosen size (the teaching table).
struct SiteRow {
    int index = 0;
    bool self = true;
    int height = 0, width = 0, heads = 0, head_dim = 0;
    int64_t batch = 0, seq_q = 0, seq_k = 0;
    std::string module;
    double scale = 0;
    std::string transformer; // its transformer's module (unet_blocks_view.h)
    int depth = 1;           // that transformer's blocks: 1 in SD v1/v2, up to 10 in SDXL
};

enum class TokenRole { Start, Prompt, End, Padding };

struct TokenChip {
    std::string text;
    int word = -1; // index into words; -1 for start, end and padding
    TokenRole role = TokenRole::Prompt;
};

struct StepRow {
    double timestep = 0, unet_ms = 0, step_ms = 0;
    bool cuda_graph = false; // the U-Net replayed a CUDA graph
};

// The worker's state, copied for the UI once a frame.
// One block of the U-Net in forward order, as the tour draws it.
struct UNetBlockRow {
    enum class Kind { Resnet, Transformer, Downsample, Upsample } kind = Kind::Resnet;
    enum class Path { Down, Mid, Up } path = Path::Down;
    int level = 0; // 0 is the latent's own resolution
    int channels = 0;
    int index = 0; // a transformer's first attention index (its self- and cross-attention sites)
    int depth = 1; // blocks inside a transformer: indices index..index+depth-1 (SDXL: up to 10)
    std::string name;
};

struct WorkerSnapshot {
    bool busy = false;
    std::string task; // what runs now
    float progress = 0;
    bool playing = false;
    std::string error; // the last failure, until the next command succeeds

    bool model_loaded = false;
    std::string model_source, model_description, device, dtype;
    bool tf32 = false; // fp32 on CUDA may run in TF32
    int element_bytes = 4;
    bool has_taesd = false;
    bool pixel_space = false; // no VAE: x0 is the image itself
    // The loaded model's prompt examples and vocabulary, where it declares them (the embedded model).
    std::shared_ptr<const PromptGuide> prompt_guide;
    double model_guidance = 7.5;  // the guidance scale the model declares, else SD's usual
    std::vector<LoraInUse> loras; // the loaded model's; the UI may set their scales at any time
    bool session_ready = false;
    RunSettings session_settings; // what the session runs (sizes and guidance resolved)
    int latent_width = 0, latent_height = 0;
    int current_step = 0, total_steps = 0;
    // Where a run from a picture joined its schedule (Session::first_scheduled_step).
    int first_scheduled_step = 0;
    std::vector<int> captured_steps;
    std::vector<StepRow> history;
    std::vector<TokenChip> tokens; // 77
    std::string
        tokenizers; // SDXL: whether its second tokenizer splits the prompt as the first (tokenizer_pair.h)
    std::vector<std::string> words;
    int prompt_length = 0;
    std::vector<SiteRow> sites;
    std::set<std::string> deep_transformers;                  // those of `sites` more than one block deep
    std::vector<UNetBlockRow> unet_blocks;                    // the loaded model's, forward order
    std::vector<std::string> backends;                        // registered names, "auto" first
    std::map<std::pair<int, bool>, std::string> last_used;    // (index, self) -> backend
    std::map<std::pair<int, bool>, std::string> last_why;     // (index, self) -> why that backend
    std::map<std::pair<int, bool>, std::string> site_backend; // overrides set from the UI
    std::string unet_run; // how the last step's U-Net ran: "replayed a CUDA graph" or "eager: why"
    int64_t capture_bytes = 0, capture_budget = 0;
    size_t evictions = 0;
    std::string last_eviction;
    std::optional<ComparisonSummary> comparison;
    std::vector<BranchSummary> branches; // oldest first
    uint64_t preview_version = 0, maps_version = 0, images_version = 0, int8_version = 0, walk_version = 0,
             sweep_version = 0;
    uint64_t capture_version = 0; // changes when captured steps are replaced: a new session, a rewind
};

} // namespace attnscope::gui
