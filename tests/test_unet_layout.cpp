#include "model/unet.h"
#include "model/unet_layout.h"
#include "test_util.h"

#include <map>
#include <set>

namespace attnscope {
namespace {

int64_t count(const std::vector<ParamSpec>& specs) {
    int64_t n = 0;
    for (const auto& s : specs) {
        int64_t k = 1;
        for (auto d : s.shape) k *= d;
        n += k;
    }
    return n;
}

TEST(UNetLayout, ParameterCountsMatchThePublishedModels) {
    // Published parameter counts of the SD v1.5 and v2.1 U-Nets.
    EXPECT_EQ(count(unet_parameters(sd15_unet_config())), 859520964);
    EXPECT_EQ(count(unet_parameters(sd21_unet_config())), 865910724);
    EXPECT_EQ(count(unet_parameters(sdxl_unet_config())), 2567463684); // SDXL base 1.0
}

TEST(UNetLayout, KeyMappingIsABijection) {
    for (const auto& cfg : {sd15_unet_config(), sd21_unet_config(), sdxl_unet_config()}) {
        std::set<std::string> d, l;
        for (const auto& s : unet_parameters(cfg)) {
            EXPECT_TRUE(d.insert(s.name).second) << s.name;
            EXPECT_TRUE(l.insert(s.ldm).second) << s.ldm;
        }
    }
}

TEST(UNetLayout, OriginalCheckpointKeysMapBothWays) {
    // Pairs as the original CompVis checkpoint and diffusers' conversion name them.
    const std::map<std::string, std::string> ldm_to_diffusers{
        {"time_embed.0.weight", "time_embedding.linear_1.weight"},
        {"time_embed.2.bias", "time_embedding.linear_2.bias"},
        {"input_blocks.0.0.weight", "conv_in.weight"},
        {"input_blocks.1.0.in_layers.0.weight", "down_blocks.0.resnets.0.norm1.weight"},
        {"input_blocks.1.0.in_layers.2.weight", "down_blocks.0.resnets.0.conv1.weight"},
        {"input_blocks.1.0.emb_layers.1.weight", "down_blocks.0.resnets.0.time_emb_proj.weight"},
        {"input_blocks.1.1.proj_in.weight", "down_blocks.0.attentions.0.proj_in.weight"},
        {"input_blocks.2.1.transformer_blocks.0.attn1.to_q.weight",
         "down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q.weight"},
        {"input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"},
        {"input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight"},
        {"input_blocks.9.0.op.bias", "down_blocks.2.downsamplers.0.conv.bias"},
        {"input_blocks.11.0.out_layers.3.bias", "down_blocks.3.resnets.1.conv2.bias"},
        {"middle_block.0.out_layers.0.weight", "mid_block.resnets.0.norm2.weight"},
        {"middle_block.1.transformer_blocks.0.attn2.to_k.weight",
         "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"},
        {"middle_block.2.emb_layers.1.weight", "mid_block.resnets.1.time_emb_proj.weight"},
        {"output_blocks.0.0.skip_connection.weight", "up_blocks.0.resnets.0.conv_shortcut.weight"},
        {"output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
        {"output_blocks.3.1.norm.weight", "up_blocks.1.attentions.0.norm.weight"},
        {"output_blocks.5.2.conv.weight", "up_blocks.1.upsamplers.0.conv.weight"},
        {"output_blocks.8.2.conv.bias", "up_blocks.2.upsamplers.0.conv.bias"},
        {"output_blocks.11.1.transformer_blocks.0.ff.net.2.weight",
         "up_blocks.3.attentions.2.transformer_blocks.0.ff.net.2.weight"},
        {"output_blocks.11.1.proj_out.bias", "up_blocks.3.attentions.2.proj_out.bias"},
        {"out.0.weight", "conv_norm_out.weight"},
        {"out.2.bias", "conv_out.bias"},
    };
    std::map<std::string, std::string> forward, backward;
    for (const auto& s : unet_parameters(sd15_unet_config())) {
        forward[s.ldm] = s.name;
        backward[s.name] = s.ldm;
    }
    for (const auto& [ldm, diffusers] : ldm_to_diffusers) {
        EXPECT_EQ(forward[ldm], diffusers) << ldm;
        EXPECT_EQ(backward[diffusers], ldm) << diffusers;
    }
}

TEST(UNetLayout, ShapesFollowTheSkipConnections) {
    std::map<std::string, std::vector<int64_t>> shape;
    for (const auto& s : unet_parameters(sd15_unet_config())) shape[s.name] = s.shape;
    EXPECT_EQ(shape["up_blocks.0.resnets.0.conv1.weight"], (std::vector<int64_t>{1280, 2560, 3, 3}));
    EXPECT_EQ(shape["up_blocks.1.resnets.2.conv1.weight"], (std::vector<int64_t>{1280, 1920, 3, 3}));
    EXPECT_EQ(shape["up_blocks.2.resnets.0.conv1.weight"], (std::vector<int64_t>{640, 1920, 3, 3}));
    EXPECT_EQ(shape["up_blocks.3.resnets.0.conv1.weight"], (std::vector<int64_t>{320, 960, 3, 3}));
    EXPECT_EQ(shape["up_blocks.3.resnets.2.conv1.weight"], (std::vector<int64_t>{320, 640, 3, 3}));
    EXPECT_EQ(shape["down_blocks.0.attentions.0.proj_in.weight"], (std::vector<int64_t>{320, 320, 1, 1}));
    EXPECT_EQ(shape["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"],
              (std::vector<int64_t>{640, 768}));
    EXPECT_EQ(shape["mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"],
              (std::vector<int64_t>{10240, 1280}));
    std::map<std::string, std::vector<int64_t>> v2;
    for (const auto& s : unet_parameters(sd21_unet_config())) v2[s.name] = s.shape;
    EXPECT_EQ(v2["down_blocks.0.attentions.0.proj_in.weight"], (std::vector<int64_t>{320, 320}));
    EXPECT_EQ(v2["up_blocks.3.attentions.0.transformer_blocks.0.attn2.to_v.weight"],
              (std::vector<int64_t>{320, 1024}));
}

TEST(UNetLayout, AttentionIndicesFollowTheSeedNumbering) {
    // The seed: scale 64 -> [1,2,14,15,16], 32 -> [3,4,11,12,13], 16 -> [5,6,8,9,10], 8 -> [7].
    const std::map<int, std::vector<int>> by_level{
        {0, {1, 2, 14, 15, 16}}, {1, {3, 4, 11, 12, 13}}, {2, {5, 6, 8, 9, 10}}, {3, {7}}};
    const auto blocks = make_unet_layout(sd15_unet_config()).transformers();
    ASSERT_EQ(blocks.size(), 16u);
    std::map<int, std::vector<int>> seen;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(blocks[i].index, static_cast<int>(i) + 1);
        seen[blocks[i].level].push_back(blocks[i].index);
    }
    EXPECT_EQ(seen, by_level);
    EXPECT_EQ(blocks[6].name.diffusers, "mid_block.attentions.0");
    EXPECT_EQ(blocks[7].name.diffusers, "up_blocks.1.attentions.0");
    EXPECT_EQ(blocks[15].name.ldm, "output_blocks.11.1");
}

TEST(UNetLayout, SdxlKeysMapToTheOriginalCheckpointsNames) {
    // Pairs as SDXL's original checkpoint (sgm) and diffusers name them.
    const std::map<std::string, std::string> ldm_to_diffusers{
        {"label_emb.0.0.weight", "add_embedding.linear_1.weight"},
        {"label_emb.0.2.bias", "add_embedding.linear_2.bias"},
        {"input_blocks.1.0.in_layers.2.weight", "down_blocks.0.resnets.0.conv1.weight"},
        {"input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"},
        {"input_blocks.4.1.transformer_blocks.1.attn1.to_q.weight",
         "down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_q.weight"},
        {"input_blocks.8.1.transformer_blocks.9.ff.net.2.weight",
         "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.2.weight"},
        {"middle_block.1.transformer_blocks.9.norm3.bias",
         "mid_block.attentions.0.transformer_blocks.9.norm3.bias"},
        {"output_blocks.2.1.transformer_blocks.4.attn2.to_k.weight",
         "up_blocks.0.attentions.2.transformer_blocks.4.attn2.to_k.weight"},
        {"output_blocks.2.2.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
        {"output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias"},
        {"output_blocks.8.0.skip_connection.weight", "up_blocks.2.resnets.2.conv_shortcut.weight"},
    };
    std::map<std::string, std::string> forward;
    for (const auto& s : unet_parameters(sdxl_unet_config())) forward[s.ldm] = s.name;
    for (const auto& [ldm, diffusers] : ldm_to_diffusers) EXPECT_EQ(forward[ldm], diffusers) << ldm;
}

// One numbering rule: every basic transformer block in forward order. SDXL: 2x2 + 2x10 down, 10 mid, 3x10 +
// 3x2 up = 70 indices, 140 sites.
TEST(UNetLayout, SdxlNumbersItsSeventyBlocksInForwardOrder) {
    const auto layout = make_unet_layout(sdxl_unet_config());
    EXPECT_EQ(layout.site_count(), 70);
    std::vector<std::pair<int, int>> ranges;
    for (const auto& t : layout.transformers()) ranges.emplace_back(t.index, t.last_index());
    const std::vector<std::pair<int, int>> expected{{1, 2},   {3, 4},   {5, 14},  {15, 24},
                                                    {25, 34}, {35, 44}, {45, 54}, {55, 64},
                                                    {65, 66}, {67, 68}, {69, 70}};
    EXPECT_EQ(ranges, expected);

    const auto sites = unet_attention_sites(sdxl_unet_config(), 2, 128, 128, 77); // 1024x1024 with CFG
    ASSERT_EQ(sites.size(), 140u);
    for (std::size_t i = 0; i < sites.size(); ++i) {
        EXPECT_EQ(sites[i].index, static_cast<int>(i / 2) + 1);
        EXPECT_EQ(sites[i].kind, i % 2 ? AttentionKind::Cross : AttentionKind::Self);
    }
    const auto& first = sites[0]; // the 64x64 level: (20, 4096, 64) self, (20, 77, 64) cross keys
    EXPECT_EQ(first.batch * first.heads, 20);
    EXPECT_EQ(first.seq_q, 4096);
    EXPECT_EQ(first.head_dim, 64);
    EXPECT_EQ(sites[1].seq_k, 77);
    const auto& deep = sites[2 * 6]; // index 7: the third block of the 32x32 level's first transformer
    EXPECT_EQ(deep.batch * deep.heads, 40);
    EXPECT_EQ(deep.seq_q, 1024);
    EXPECT_EQ(deep.module, "down_blocks.2.attentions.0.transformer_blocks.2.attn1");
    EXPECT_EQ(deep.place(), "down, level 2, down_blocks.2.attentions.0, block 3");
    EXPECT_EQ(sites[2 * 29 + 1].place(), "mid, level 2, mid_block.attentions.0, block 6");
    EXPECT_EQ(sites[139].place(), "up, level 1, up_blocks.1.attentions.2, block 2");
    EXPECT_EQ(sites[139].seq_q, 4096);
}

} // namespace
} // namespace attnscope
