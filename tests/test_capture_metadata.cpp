// A capture file's JSON description, read without LibTorch (core/capture/capture_metadata.cpp).
#include "capture/capture_metadata.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>

namespace attnscope {
namespace {

// The description a capture file carries is the user's: every field is checked, not cast.
TEST(CaptureMetadata, RefusesWhatWouldHaveBeenMisread) {
    const AttentionSite site{3, AttentionKind::Cross, 8, 8, 2, 4, 2, 64, 77, false, "m", 2, 7};
    const auto good = capture_site_json(5, site);
    const auto parsed = parse_capture_metadata(nlohmann::json{{"sites", {good}}}.dump(), "c.safetensors");
    ASSERT_EQ(parsed.entries.size(), 1u);
    EXPECT_EQ(capture_site_json(parsed.entries[0].step, parsed.entries[0].site), good);
    const auto refused = [&](const char* key, const nlohmann::json& value) {
        auto bad = good;
        bad[key] = value;
        try {
            parse_capture_metadata(nlohmann::json{{"sites", {bad}}}.dump(), "c.safetensors");
        } catch (const std::runtime_error& e) {
            return std::string(e.what()).find("c.safetensors: malformed capture description") == 0;
        }
        return false;
    };
    EXPECT_TRUE(refused("kind", "bogus"));
    EXPECT_TRUE(refused("heads", 0));
    EXPECT_TRUE(refused("head_dim", -4));
    EXPECT_TRUE(refused("width", 1e300));
    EXPECT_TRUE(refused("seq_q", "64"));
    EXPECT_TRUE(refused("step", -1));
    EXPECT_TRUE(refused("depth", -1));
    EXPECT_TRUE(refused("level", "1"));
    EXPECT_THROW(parse_capture_metadata("[1]", "c"), std::runtime_error);
    EXPECT_THROW(parse_capture_metadata("{", "c"), std::runtime_error);
}

// Capture files written before sites had a place (SD v1/v2 only) still read: one block deep.
TEST(CaptureMetadata, ReadsSitesWithoutAPlace) {
    auto old =
        capture_site_json(0, AttentionSite{12, AttentionKind::Self, 32, 32, 2, 8, 80, 1024, 1024, false,
                                           "up_blocks.2.attentions.0.transformer_blocks.0.attn1", 1, 0});
    old.erase("level");
    old.erase("depth");
    const auto parsed = parse_capture_metadata(nlohmann::json{{"sites", {old}}}.dump(), "old.safetensors");
    ASSERT_EQ(parsed.entries.size(), 1u);
    EXPECT_EQ(parsed.entries[0].site.index, 12);
    EXPECT_EQ(parsed.entries[0].site.depth, 0);
    EXPECT_EQ(parsed.entries[0].site.place(), "up, up_blocks.2.attentions.0, block 1");
}

} // namespace
} // namespace attnscope
