// The U-Net's x/y input channels (coordinate_channels, CoordConv): the ramps it appends, checked against
// ramps written out by hand, and what a config with them reads, writes and refuses.
#include "model/unet.h"
#include "model/unet_config.h"
#include "model/unet_layout.h"
#include "small_models.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

UNetConfig with_coordinates(UNetConfig c) {
    c.in_channels = 3;
    c.coordinate_channels = 2;
    return c;
}

// x then y, -1 at the first column (row) and 1 at the last, in float64 from the index alone.
at::Tensor hand_ramps(int64_t batch, int64_t h, int64_t w) {
    auto r = at::empty({batch, 2, h, w}, at::kDouble);
    auto a = r.accessor<double, 4>();
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                a[b][0][y][x] = -1.0 + 2.0 * static_cast<double>(x) / static_cast<double>(w - 1);
                a[b][1][y][x] = -1.0 + 2.0 * static_cast<double>(y) / static_cast<double>(h - 1);
            }
    return r;
}

// The same weights read by a U-Net that takes five plain input channels: fed the sample and the hand-made
// ramps, it must compute what the coordinate U-Net computes from the sample alone.
TEST(UNetCoordinates, AppendsXThenYRampsBeforeConvIn) {
    const auto config = with_coordinates(test::small_v1_config());
    const auto unet = UNet::random(config, 5, at::kFloat, at::kCPU);
    auto plain_config = config;
    plain_config.in_channels = 5;
    plain_config.coordinate_channels = 0;
    const UNet plain(plain_config, unet.weights());

    const int64_t h = 8, w = 16; // not square, so that swapped axes would show
    const auto sample = at::randn({2, 3, h, w});
    const auto t = at::tensor({500, 20}, at::kLong);
    const auto ctx = at::randn({2, 77, config.cross_attention_dim});
    AttentionRouter router;
    const auto out = unet.forward(sample, t, ctx, router);
    const auto expected =
        plain.forward(at::cat({sample, hand_ramps(2, h, w).to(at::kFloat)}, 1), t, ctx, router);
    EXPECT_TRUE(at::allclose(out, expected, 1e-5, 1e-5)) << (out - expected).abs().max().item<double>();

    // The ramps reach the output: the same sample under zero x/y weights gives another result.
    Weights closed = unet.weights();
    auto conv_in = closed["conv_in.weight"].clone();
    conv_in.narrow(1, 3, 2).zero_();
    closed.set("conv_in.weight", conv_in);
    const auto without = UNet(config, closed).forward(sample, t, ctx, router);
    EXPECT_GT((out - without).abs().max().item<double>(), 1e-3);
}

TEST(UNetCoordinates, ConfigReadsWritesAndChecksThem) {
    const auto config = with_coordinates(test::small_v1_config());
    const auto j = unet_config_to_json(config);
    EXPECT_EQ(j.at("coordinate_channels"), 2);
    EXPECT_EQ(unet_config_from_json(j, "c.json").coordinate_channels, 2);
    EXPECT_FALSE(unet_config_to_json(test::small_v1_config()).contains("coordinate_channels"));
    EXPECT_EQ(unet_parameters(config).front().shape, (std::vector<int64_t>{32, 5, 3, 3}));
    EXPECT_NE(config.describe().find("x/y input"), std::string::npos);

    auto odd = j;
    odd["coordinate_channels"] = 3;
    ATTNSCOPE_EXPECT_THROW_WITH(unet_config_from_json(odd, "odd.json"), std::invalid_argument,
                                "coordinate_channels must be 0 or 2");
    // Weights of a U-Net without them do not load under a config that has them.
    auto three = test::small_v1_config();
    three.in_channels = 3;
    const auto rgb = UNet::random(three, 6, at::kFloat, at::kCPU);
    ATTNSCOPE_EXPECT_THROW_WITH(UNet(config, rgb.weights()), std::invalid_argument, "conv_in.weight");
}

} // namespace
} // namespace attnscope
