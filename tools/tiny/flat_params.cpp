#include "flat_params.h"

#include "model/unet_layout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attnscope::tiny {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A U-Net of the same shape as `to` but without its x/y input channels.
bool gains_coordinates(const UNetConfig& from, const UNetConfig& to) {
    auto same = from;
    same.coordinate_channels = to.coordinate_channels;
    return from.coordinate_channels == 0 && to.coordinate_channels > 0 &&
           unet_config_to_json(same) == unet_config_to_json(to);
}

} // namespace

FlatParams::FlatParams(UNetConfig unet_config, ClipTextConfig text_config)
    : unet_config_(std::move(unet_config)), text_config_(std::move(text_config)) {
    const auto add = [&](const std::string& name, const std::vector<int64_t>& shape, bool text) {
        int64_t n = 1;
        for (const auto d : shape) n *= d;
        slots_.push_back({name, shape, size_, n, text});
        size_ += n;
    };
    for (const auto& p : unet_parameters(unet_config_)) add(p.name, p.shape, false);
    for (const auto& p : clip_text_parameters(text_config_)) add(p.name, p.shape, true);
}

int64_t FlatParams::unet_size() const {
    int64_t n = 0;
    for (const auto& s : slots_) n += s.text ? 0 : s.numel;
    return n;
}

at::Tensor FlatParams::initial(uint64_t seed) const {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto flat = at::zeros({size_});
    for (const auto& s : slots_) {
        auto t = flat.narrow(0, s.offset, s.numel).view(s.shape);
        const auto& n = s.name;
        const bool is_norm = contains(n, "norm") && s.shape.size() == 1;
        if (is_norm && ends_with(n, ".weight")) {
            t.fill_(1.0);
        } else if (s.shape.size() == 1) {
            continue; // biases and norm shifts start at zero
        } else if (n == "conv_out.weight" || (contains(n, "resnets.") && ends_with(n, ".conv2.weight")) ||
                   (contains(n, "attentions.") && ends_with(n, ".proj_out.weight"))) {
            continue; // residual branches start closed: each block is the identity at step 0
        } else if (s.text && contains(n, "embedding")) {
            t.normal_(0.0, 0.02, gen);
        } else {
            int64_t fan_in = 1;
            for (std::size_t i = 1; i < s.shape.size(); ++i) fan_in *= s.shape[i];
            t.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(fan_in)), gen);
        }
    }
    return flat;
}

at::Tensor FlatParams::pack(const UNet& unet, const ClipTextModel& text) const {
    auto flat = at::empty({size_});
    for (const auto& s : slots_) {
        const auto& from = s.text ? text.weights() : unet.weights();
        auto to = flat.narrow(0, s.offset, s.numel).view(s.shape);
        if (from.contains(s.name) && from[s.name].sizes() == at::IntArrayRef(s.shape)) {
            to.copy_(from[s.name]);
        } else if (s.name == "conv_in.weight" && gains_coordinates(unet.config(), unet_config_)) {
            // x and y start with zero weights: the widened model computes what the given one did.
            to.zero_().narrow(1, 0, unet.config().in_channels).copy_(from[s.name]);
        } else {
            throw std::runtime_error(std::string(s.text ? "text encoder" : "U-Net") + " parameter '" +
                                     s.name + "' is missing or has another shape than the tiny model's");
        }
    }
    return flat;
}

at::Tensor FlatParams::decay_mask() const {
    auto mask = at::zeros({size_});
    for (const auto& s : slots_)
        if (s.shape.size() >= 2) mask.narrow(0, s.offset, s.numel).fill_(1.0);
    return mask;
}

Weights FlatParams::views(const at::Tensor& flat, bool text, bool requires_grad) const {
    if (flat.dim() != 1 || flat.size(0) != size_)
        throw std::invalid_argument("flat parameter buffer has " + std::to_string(flat.numel()) +
                                    " values, the tiny model needs " + std::to_string(size_));
    Weights w;
    for (const auto& s : slots_) {
        if (s.text != text) continue;
        // A view of a buffer that needs no gradient is itself a leaf: backward fills its .grad.
        auto v = flat.narrow(0, s.offset, s.numel).view(s.shape);
        if (requires_grad) v.requires_grad_(true);
        w.set(s.name, v);
    }
    return w;
}

UNet FlatParams::unet(const at::Tensor& flat, bool requires_grad) const {
    return UNet(unet_config_, views(flat, false, requires_grad));
}

ClipTextModel FlatParams::text(const at::Tensor& flat, bool requires_grad) const {
    return ClipTextModel(text_config_, views(flat, true, requires_grad));
}

at::Tensor FlatParams::take_grads(const UNet& unet, const ClipTextModel& text) const {
    std::vector<at::Tensor> parts;
    parts.reserve(slots_.size());
    for (const auto& s : slots_) {
        const auto& leaf = s.text ? text.weights()[s.name] : unet.weights()[s.name];
        auto& g = leaf.mutable_grad();
        parts.push_back(g.defined() ? g.reshape({-1}) : at::zeros({s.numel}, leaf.options()));
        g = at::Tensor(); // the next backward starts from nothing rather than accumulating
    }
    return at::cat(parts).to(at::kFloat);
}

} // namespace attnscope::tiny
