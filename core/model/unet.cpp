#include "unet.h"

#include "../util/shape_string.h"
#include "fused_geglu.h"
#include "fused_group_norm.h"
#include "nn.h"

#include <cmath>
#include <stdexcept>

namespace attnscope {
namespace {

// (B, S, h*d) -> (B, h, S, d), a view: LibTorch's SDPA reads it as it lies (and returns O in the same layout,
// so merge_heads is a view too), and the backends that want (B, h, S, d) contiguous make it so themselves.
at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
    return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}

at::Tensor merge_heads(const at::Tensor& x) { // (B, h, S, d) -> (B, S, h*d)
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), -1});
}

AttentionSite site_for(const TransformerBlock& t, int depth, AttentionKind kind, int height, int width,
                       int64_t batch, int64_t seq_k, bool upcast) {
    AttentionSite s;
    s.index = t.index + depth;
    s.kind = kind;
    s.height = height;
    s.width = width;
    s.heads = t.heads;
    s.head_dim = t.head_dim();
    s.batch = batch;
    s.seq_q = int64_t{height} * width;
    s.seq_k = seq_k;
    s.upcast = upcast;
    s.module = t.block(depth) + (kind == AttentionKind::Self ? ".attn1" : ".attn2");
    s.level = t.level;
    s.depth = depth;
    return s;
}

// The sample with CoordConv's x and y channels after its own: -1 at the first column (row), 1 at the last.
at::Tensor with_coordinates(const at::Tensor& x) {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const auto xs = at::linspace(-1, 1, w, x.options()).view({1, 1, 1, w}).expand({b, 1, h, w});
    const auto ys = at::linspace(-1, 1, h, x.options()).view({1, 1, h, 1}).expand({b, 1, h, w});
    return at::cat({x, xs, ys}, 1).contiguous(x.suggest_memory_format());
}

} // namespace

AddedConditions default_text_time(const at::Tensor& pooled, int64_t width, int64_t height) {
    const double h = static_cast<double>(height), w = static_cast<double>(width);
    const auto ids = at::tensor(std::vector<double>{h, w, 0, 0, h, w}, pooled.options().dtype(at::kDouble));
    return {pooled, ids.to(pooled.scalar_type()).unsqueeze(0).expand({pooled.size(0), 6}).contiguous()};
}

UNet::UNet(UNetConfig config, Weights weights)
    : config_(std::move(config)), layout_(make_unet_layout(config_)), weights_(std::move(weights)),
      dtype_(at::kFloat), device_(at::kCPU) {
    for (const auto& spec : unet_parameters(config_)) {
        if (!weights_.contains(spec.name))
            throw std::invalid_argument("U-Net weight '" + spec.name + "' is missing");
        const auto& t = weights_[spec.name];
        if (t.sizes() != at::IntArrayRef(spec.shape))
            throw std::invalid_argument("U-Net weight '" + spec.name + "' has shape " +
                                        shape_string(t.sizes()) + ", expected " + shape_string(spec.shape) +
                                        " for " + config_.describe());
    }
    const auto& first = weights_["conv_in.weight"];
    dtype_ = first.scalar_type();
    device_ = first.device();
}

void UNet::use_channels_last() {
    // Replacing a map entry's value leaves the iteration valid.
    for (const auto& [name, t] : weights_.all())
        if (t.dim() == 4) weights_.set(name, t.contiguous(at::MemoryFormat::ChannelsLast));
    channels_last_ = true;
}

UNet UNet::random(const UNetConfig& config, uint64_t seed, at::ScalarType dtype, at::Device device) {
    at::manual_seed(seed);
    Weights w;
    const auto opts = at::TensorOptions().dtype(at::kFloat).device(device);
    for (const auto& spec : unet_parameters(config)) {
        const bool is_bias = spec.name.size() > 5 && spec.name.compare(spec.name.size() - 5, 5, ".bias") == 0;
        at::Tensor t;
        if (spec.shape.size() == 1) {
            t = is_bias ? at::randn(spec.shape, opts).mul_(0.02) : at::ones(spec.shape, opts);
        } else {
            int64_t fan_in = 1;
            for (std::size_t i = 1; i < spec.shape.size(); ++i) fan_in *= spec.shape[i];
            t = at::randn(spec.shape, opts).mul_(1.0 / std::sqrt(static_cast<double>(fan_in)));
        }
        w.set(spec.name, t.to(dtype));
    }
    return UNet(config, std::move(w));
}

at::Tensor UNet::sinusoids(const at::Tensor& values, int64_t dim) const {
    // As diffusers: sinusoids in fp32 (fp64 models keep fp64), cast to the model dtype by the caller.
    const auto compute = dtype_ == at::kDouble ? at::kDouble : at::kFloat;
    const int64_t half = dim / 2;
    const auto opts = at::TensorOptions().dtype(compute).device(device_);
    const auto exponent = at::arange(half, opts).mul(-std::log(10000.0)).div(half - config_.freq_shift);
    const auto args = values.to(device_, compute).reshape({-1, 1}) * at::exp(exponent).unsqueeze(0);
    return config_.flip_sin_to_cos ? at::cat({at::cos(args), at::sin(args)}, 1)
                                   : at::cat({at::sin(args), at::cos(args)}, 1);
}

at::Tensor UNet::time_embedding(const at::Tensor& timestep, int64_t batch,
                                const AddedConditions& added) const {
    auto t = timestep.reshape({-1});
    if (t.numel() == 1) t = t.expand({batch});
    if (t.numel() != batch)
        throw std::invalid_argument("timestep has " + std::to_string(t.numel()) + " values for a batch of " +
                                    std::to_string(batch));
    const auto mlp = [&](const std::string& name, const at::Tensor& in) {
        return nn::linear(weights_, name + ".linear_2",
                          at::silu(nn::linear(weights_, name + ".linear_1", in)));
    };
    auto emb = mlp("time_embedding", sinusoids(t, config_.block_out_channels.front()).to(dtype_));
    if (config_.text_time()) {
        const int64_t pooled = config_.pooled_text_dim(), ids = UNetConfig::kTimeIds;
        const auto& te = added.text_embeds;
        const auto& ti = added.time_ids;
        if (!te.defined() || !ti.defined() || te.dim() != 2 || ti.dim() != 2 || te.size(0) != batch ||
            ti.size(0) != batch || te.size(1) != pooled || ti.size(1) != ids)
            throw std::invalid_argument(
                config_.family() + "'s U-Net needs text_embeds (" + std::to_string(batch) + ", " +
                std::to_string(pooled) + ") and time_ids (" + std::to_string(batch) + ", " +
                std::to_string(ids) + "), got " + (te.defined() ? shape_string(te.sizes()) : "none") +
                " and " + (ti.defined() ? shape_string(ti.sizes()) : "none"));
        const auto time = sinusoids(ti, config_.addition_time_embed_dim).reshape({batch, -1});
        emb = emb + mlp("add_embedding", at::cat({te.to(device_, time.scalar_type()), time}, 1).to(dtype_));
    }
    return at::silu(emb); // every resnet applies SiLU before its own projection; do it once here
}

at::Tensor UNet::group_norm(const std::string& name, const at::Tensor& x, double eps, bool silu,
                            const at::Tensor& shift) const {
    const auto groups = config_.norm_num_groups;
    if (channels_last_) {
        const auto fused = fused_group_norm_nhwc(x, weights_[name + ".weight"], weights_[name + ".bias"],
                                                 groups, eps, silu, shift);
        if (fused.defined()) return fused;
    }
    const auto in = shift.defined() ? x + shift.unsqueeze(-1).unsqueeze(-1) : x;
    auto y = channels_last_ ? nn::group_norm_nhwc(weights_, name, in, groups, eps)
                            : nn::group_norm(weights_, name, in, groups, eps);
    return silu ? at::silu(y) : y;
}

at::Tensor UNet::geglu(const at::Tensor& proj) const {
    if (auto fused = fused_geglu(proj); fused.defined()) return fused;
    const auto ag = proj.chunk(2, -1);
    return ag[0] * at::gelu(ag[1]);
}

at::Tensor UNet::resnet(const ResnetBlock& r, const at::Tensor& x, const at::Tensor& emb) const {
    const auto& p = r.name.diffusers;
    const double eps = config_.norm_eps;
    // conv1's bias and the timestep's projection are one shift per (item, channel), which norm2 adds as it
    // reads conv1's output rather than in two passes of their own.
    const auto conv1_bias = weights_.optional(p + ".conv1.bias");
    auto shift = nn::linear(weights_, p + ".time_emb_proj", emb);
    if (conv1_bias.defined()) shift = shift + conv1_bias;
    auto h = nn::conv2d(weights_, p + ".conv1", group_norm(p + ".norm1", x, eps, true), 1, false);
    h = nn::conv2d(weights_, p + ".conv2", group_norm(p + ".norm2", h, eps, true, shift));
    const auto shortcut = r.in_channels == r.out_channels ? x : nn::conv2d(weights_, p + ".conv_shortcut", x);
    return shortcut + h;
}

at::Tensor UNet::attention(const TransformerBlock& t, int depth, AttentionKind kind, const at::Tensor& x,
                           const at::Tensor& context, int height, int width, AttentionRouter& router) const {
    const bool self = kind == AttentionKind::Self;
    const std::string p = t.block(depth) + (self ? ".attn1" : ".attn2");
    const auto& kv_source = self ? x : context;
    const auto q = split_heads(nn::linear(weights_, p + ".to_q", x), t.heads);
    const auto k = split_heads(nn::linear(weights_, p + ".to_k", kv_source), t.heads);
    const auto v = split_heads(nn::linear(weights_, p + ".to_v", kv_source), t.heads);
    const auto site = site_for(t, depth, kind, height, width, x.size(0), k.size(2), config_.upcast_attention);
    const auto o = router.attention_forward(q, k, v, site, x);
    return nn::linear(weights_, p + ".to_out.0", merge_heads(o));
}

at::Tensor UNet::transformer(const TransformerBlock& t, const at::Tensor& x, const at::Tensor& context,
                             AttentionRouter& router) const {
    const auto& p = t.name.diffusers;
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    // Channels-last pixels are tokens as they lie: SD v1's 1x1 projections then run as the GEMMs they are,
    // with the bias in the GEMM's epilogue, where a convolution added it in a pass of its own.
    const bool on_tokens = config_.use_linear_projection || channels_last_;
    auto s = group_norm(p + ".norm", x, 1e-6);
    if (!on_tokens) s = nn::conv2d(weights_, p + ".proj_in", s);
    s = s.permute({0, 2, 3, 1}).reshape({b, h * w, -1}); // (B, HW, C): one token per pixel
    if (on_tokens) s = nn::linear(weights_, p + ".proj_in", s);

    const int hi = static_cast<int>(h), wi = static_cast<int>(w);
    for (int d = 0; d < t.depth; ++d) {
        const std::string tb = t.block(d) + ".";
        const auto norm = [&](const char* n) { return nn::layer_norm(weights_, tb + n, s); };
        s = s + attention(t, d, AttentionKind::Self, norm("norm1"), context, hi, wi, router);
        s = s + attention(t, d, AttentionKind::Cross, norm("norm2"), context, hi, wi, router);
        s = s + nn::linear(weights_, tb + "ff.net.2",
                           geglu(nn::linear(weights_, tb + "ff.net.0.proj", norm("norm3"))));
    }

    if (on_tokens) s = nn::linear(weights_, p + ".proj_out", s);
    s = s.reshape({b, h, w, -1}).permute({0, 3, 1, 2});
    if (!on_tokens) s = nn::conv2d(weights_, p + ".proj_out", s.contiguous(x.suggest_memory_format()));
    return s + x;
}

at::Tensor UNet::forward(const at::Tensor& sample, const at::Tensor& timestep, const at::Tensor& context,
                         AttentionRouter& router, const AddedConditions& added) const {
    if (sample.dim() != 4 || sample.size(1) != config_.in_channels)
        throw std::invalid_argument("sample must be (B, " + std::to_string(config_.in_channels) +
                                    ", H, W), got " + shape_string(sample.sizes()));
    if (context.dim() != 3 || context.size(0) != sample.size(0) ||
        context.size(2) != config_.cross_attention_dim)
        throw std::invalid_argument("encoder_hidden_states must be (" + std::to_string(sample.size(0)) +
                                    ", S, " + std::to_string(config_.cross_attention_dim) + "), got " +
                                    shape_string(context.sizes()));
    const auto x =
        sample.to(device_, dtype_)
            .contiguous(channels_last_ ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
    const auto ctx = context.to(device_, dtype_);
    const auto emb = time_embedding(timestep, x.size(0), added);

    auto h = nn::conv2d(weights_, "conv_in", config_.coordinate_channels ? with_coordinates(x) : x);
    std::vector<at::Tensor> skips{h};
    for (const auto& level : layout_.down) {
        for (std::size_t i = 0; i < level.resnets.size(); ++i) {
            h = resnet(level.resnets[i], h, emb);
            if (i < level.attentions.size()) h = transformer(level.attentions[i], h, ctx, router);
            skips.push_back(h);
        }
        if (level.resample) {
            h = nn::conv2d(weights_, level.resample->name.diffusers, h, 2);
            skips.push_back(h);
        }
    }

    h = resnet(layout_.mid_in, h, emb);
    h = transformer(layout_.mid_attention, h, ctx, router);
    h = resnet(layout_.mid_out, h, emb);

    for (const auto& level : layout_.up) {
        for (std::size_t i = 0; i < level.resnets.size(); ++i) {
            h = resnet(level.resnets[i], at::cat({h, skips.back()}, 1), emb);
            skips.pop_back();
            if (i < level.attentions.size()) h = transformer(level.attentions[i], h, ctx, router);
        }
        if (level.resample) {
            // Nearest up-sampling to the size of the skip it meets next (x2 unless a side was odd).
            const auto& next = skips.back();
            h = at::upsample_nearest2d(h, {next.size(2), next.size(3)}, c10::nullopt, c10::nullopt);
            h = nn::conv2d(weights_, level.resample->name.diffusers, h);
        }
    }
    h = group_norm("conv_norm_out", h, config_.norm_eps, true);
    return nn::conv2d(weights_, "conv_out", h).contiguous();
}

std::vector<AttentionSite> unet_attention_sites(const UNetConfig& config, int64_t batch, int64_t latent_h,
                                                int64_t latent_w, int64_t context_len) {
    // Each level below the first is reached through a stride-2, pad-1 convolution: ceil(n / 2).
    std::vector<std::pair<int, int>> size_at_level;
    int h = static_cast<int>(latent_h), w = static_cast<int>(latent_w);
    for (int l = 0; l < config.levels(); ++l, h = (h + 1) / 2, w = (w + 1) / 2)
        size_at_level.emplace_back(h, w);
    std::vector<AttentionSite> out;
    for (const auto& t : make_unet_layout(config).transformers()) {
        const auto [sh, sw] = size_at_level[t.level];
        for (int d = 0; d < t.depth; ++d)
            for (const auto kind : {AttentionKind::Self, AttentionKind::Cross})
                out.push_back(site_for(t, d, kind, sh, sw, batch,
                                       kind == AttentionKind::Self ? int64_t{sh} * sw : context_len,
                                       config.upcast_attention));
    }
    return out;
}

std::vector<AttentionSite> UNet::sites(int64_t batch, int64_t latent_h, int64_t latent_w,
                                       int64_t context_len) const {
    return unet_attention_sites(config_, batch, latent_h, latent_w, context_len);
}

} // namespace attnscope
