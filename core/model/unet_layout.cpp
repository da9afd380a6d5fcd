#include "unet_layout.h"

namespace attnscope {
namespace {

std::string str(int i) {
    return std::to_string(i);
}

std::string join(const std::string& prefix, const std::string& leaf) {
    if (prefix.empty()) return leaf;
    return leaf.empty() ? prefix : prefix + "." + leaf;
}

} // namespace

UNetLayout make_unet_layout(const UNetConfig& c) {
    c.validate();
    const int L = c.layers_per_block, levels = c.levels();
    const auto& ch = c.block_out_channels;
    UNetLayout u;
    int index = 0;
    auto transformer = [&](BlockName name, int level) {
        const int first = index + 1, depth = c.transformer_depth[level];
        index += depth;
        return TransformerBlock{std::move(name), ch[level], c.heads[level], level, first, depth};
    };

    // Down path: LDM numbers input_blocks consecutively, input_blocks.0 being conv_in.
    int in_ch = ch[0];
    for (int b = 0; b < levels; ++b) {
        UNetLevel level;
        for (int l = 0; l < L; ++l) {
            const std::string ldm = "input_blocks." + str(1 + b * (L + 1) + l);
            const std::string d = "down_blocks." + str(b);
            level.resnets.push_back({{d + ".resnets." + str(l), ldm + ".0"}, l == 0 ? in_ch : ch[b], ch[b]});
            if (c.level_has_attention[b])
                level.attentions.push_back(transformer({d + ".attentions." + str(l), ldm + ".1"}, b));
        }
        if (b + 1 < levels)
            level.resample = ResampleConv{{"down_blocks." + str(b) + ".downsamplers.0.conv",
                                           "input_blocks." + str((b + 1) * (L + 1)) + ".0.op"},
                                          ch[b]};
        in_ch = ch[b];
        u.down.push_back(std::move(level));
    }

    const int last = levels - 1;
    u.mid_in = {{"mid_block.resnets.0", "middle_block.0"}, ch[last], ch[last]};
    u.mid_attention = transformer({"mid_block.attentions.0", "middle_block.1"}, last);
    u.mid_out = {{"mid_block.resnets.1", "middle_block.2"}, ch[last], ch[last]};

    // Up path mirrors the down path; each resnet consumes one skip connection, so there are L+1.
    int prev_out = ch[last];
    for (int b = 0; b < levels; ++b) {
        const int lvl = last - b;
        const int out = ch[lvl], skip_in = ch[std::max(lvl - 1, 0)];
        UNetLevel level;
        const std::string d = "up_blocks." + str(b);
        for (int l = 0; l <= L; ++l) {
            const std::string ldm = "output_blocks." + str(b * (L + 1) + l);
            const int res_in = l == 0 ? prev_out : out;
            const int skip = l == L ? skip_in : out;
            level.resnets.push_back({{d + ".resnets." + str(l), ldm + ".0"}, res_in + skip, out});
            if (c.level_has_attention[lvl])
                level.attentions.push_back(transformer({d + ".attentions." + str(l), ldm + ".1"}, lvl));
        }
        if (b + 1 < levels) {
            const std::string ldm = "output_blocks." + str(b * (L + 1) + L) +
                                    (c.level_has_attention[lvl] ? ".2" : ".1") + ".conv";
            level.resample = ResampleConv{{d + ".upsamplers.0.conv", ldm}, out};
        }
        prev_out = out;
        u.up.push_back(std::move(level));
    }
    return u;
}

std::vector<TransformerBlock> UNetLayout::transformers() const {
    std::vector<TransformerBlock> out;
    for (const auto& l : down) out.insert(out.end(), l.attentions.begin(), l.attentions.end());
    out.push_back(mid_attention);
    for (const auto& l : up) out.insert(out.end(), l.attentions.begin(), l.attentions.end());
    return out;
}

int UNetLayout::site_count() const {
    const auto all = transformers();
    return all.empty() ? 0 : all.back().last_index();
}

namespace {

class ParamList {
  public:
    void add(const BlockName& block, const std::string& d_leaf, const std::string& ldm_leaf,
             std::vector<int64_t> shape) {
        out.push_back({join(block.diffusers, d_leaf), join(block.ldm, ldm_leaf), std::move(shape)});
    }
    void add(const BlockName& block, const std::string& leaf, std::vector<int64_t> shape) {
        add(block, leaf, leaf, std::move(shape));
    }
    // weight + bias of a layer whose name differs between the layouts
    void layer(const BlockName& block, const std::string& d, const std::string& ldm, std::vector<int64_t> w) {
        const int64_t outc = w.front();
        add(block, join(d, "weight"), join(ldm, "weight"), std::move(w));
        add(block, join(d, "bias"), join(ldm, "bias"), {outc});
    }
    void layer(const BlockName& block, const std::string& name, std::vector<int64_t> w) {
        layer(block, name, name, std::move(w));
    }
    std::vector<ParamSpec> out;
};

void resnet_params(ParamList& p, const ResnetBlock& r, int temb) {
    const int64_t i = r.in_channels, o = r.out_channels;
    p.layer(r.name, "norm1", "in_layers.0", {i});
    p.layer(r.name, "conv1", "in_layers.2", {o, i, 3, 3});
    p.layer(r.name, "time_emb_proj", "emb_layers.1", {o, temb});
    p.layer(r.name, "norm2", "out_layers.0", {o});
    p.layer(r.name, "conv2", "out_layers.3", {o, o, 3, 3});
    if (i != o) p.layer(r.name, "conv_shortcut", "skip_connection", {o, i, 1, 1});
}

void transformer_params(ParamList& p, const TransformerBlock& t, const UNetConfig& c) {
    const int64_t ch = t.channels, inner = t.channels, ctx = c.cross_attention_dim;
    const auto proj = [&](int64_t o, int64_t i) {
        return c.use_linear_projection ? std::vector<int64_t>{o, i} : std::vector<int64_t>{o, i, 1, 1};
    };
    p.layer(t.name, "norm", {ch});
    p.layer(t.name, "proj_in", proj(inner, ch));
    for (int d = 0; d < t.depth; ++d) {
        const std::string tb = "transformer_blocks." + str(d) + ".";
        for (const char* n : {"norm1", "norm2", "norm3"}) p.layer(t.name, tb + n, {inner});
        for (const auto& [attn, kv] : {std::pair{"attn1", inner}, std::pair{"attn2", ctx}}) {
            const std::string a = tb + attn;
            p.add(t.name, a + ".to_q.weight", {inner, inner});
            p.add(t.name, a + ".to_k.weight", {inner, kv});
            p.add(t.name, a + ".to_v.weight", {inner, kv});
            p.layer(t.name, a + ".to_out.0", {inner, inner});
        }
        p.layer(t.name, tb + "ff.net.0.proj", {inner * 8, inner}); // GEGLU: value and gate, 4x each
        p.layer(t.name, tb + "ff.net.2", {inner, inner * 4});
    }
    p.layer(t.name, "proj_out", proj(ch, inner));
}

} // namespace

std::vector<ParamSpec> unet_parameters(const UNetConfig& c) {
    const auto u = make_unet_layout(c);
    const int64_t c0 = c.block_out_channels.front(), temb = c.time_embed_dim();
    ParamList p;
    const auto top = [&](const std::string& d, const std::string& ldm, std::vector<int64_t> w) {
        p.layer({d, ldm}, "", w);
    };
    top("conv_in", "input_blocks.0.0", {c0, c.in_channels + c.coordinate_channels, 3, 3});
    top("time_embedding.linear_1", "time_embed.0", {temb, c0});
    top("time_embedding.linear_2", "time_embed.2", {temb, temb});
    if (c.text_time()) {
        top("add_embedding.linear_1", "label_emb.0.0", {temb, c.addition_embed_input_dim});
        top("add_embedding.linear_2", "label_emb.0.2", {temb, temb});
    }
    const auto level_params = [&](const UNetLevel& level) {
        for (std::size_t i = 0; i < level.resnets.size(); ++i) {
            resnet_params(p, level.resnets[i], static_cast<int>(temb));
            if (i < level.attentions.size()) transformer_params(p, level.attentions[i], c);
        }
        if (level.resample) {
            const int64_t ch = level.resample->channels;
            p.layer(level.resample->name, "", {ch, ch, 3, 3});
        }
    };
    for (const auto& l : u.down) level_params(l);
    resnet_params(p, u.mid_in, static_cast<int>(temb));
    transformer_params(p, u.mid_attention, c);
    resnet_params(p, u.mid_out, static_cast<int>(temb));
    for (const auto& l : u.up) level_params(l);
    top("conv_norm_out", "out.0", {c0});
    top("conv_out", "out.2", {c.out_channels, c0, 3, 3});
    return p.out;
}

} // namespace attnscope
