// The trainer's flat parameter buffer: a fine-tune that gives the tiny U-Net x/y input channels starts from
// the function the given model computed.
#include "flat_params.h"
#include "tiny_model.h"

#include <gtest/gtest.h>

namespace attnscope::tiny {
namespace {

TEST(FlatParams, WidensConvInWithClosedCoordinateChannels) {
    const auto text = ClipTextModel::random(tiny_text_config(40, true), 2, at::kFloat, at::kCPU);
    const auto plain = UNet::random(tiny_unet_config(0), 3, at::kFloat, at::kCPU);
    const FlatParams flat(tiny_unet_config(2), tiny_text_config(40, true));
    const auto widened = flat.unet(flat.pack(plain, text));

    const auto w = widened.weights()["conv_in.weight"];
    ASSERT_EQ(w.size(1), 5);
    EXPECT_TRUE(at::equal(w.narrow(1, 0, 3), plain.weights()["conv_in.weight"]));
    EXPECT_EQ(w.narrow(1, 3, 2).abs().max().item<float>(), 0.0f);

    const auto sample = at::randn({1, 3, 64, 64});
    const auto t = at::tensor({900}, at::kLong);
    const auto ctx = at::randn({1, 77, 64});
    AttentionRouter router;
    const auto expected = plain.forward(sample, t, ctx, router);
    const auto out = widened.forward(sample, t, ctx, router);
    EXPECT_TRUE(at::allclose(out, expected, 1e-4, 1e-5)) << (out - expected).abs().max().item<double>();

    // Another change of shape is still refused, naming the parameter.
    auto wider = tiny_unet_config(2);
    wider.block_out_channels.back() = 128;
    EXPECT_THROW(FlatParams(wider, tiny_text_config(40, true)).pack(plain, text), std::runtime_error);
}

} // namespace
} // namespace attnscope::tiny
