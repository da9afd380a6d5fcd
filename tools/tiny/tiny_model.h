#pragma once
// The embedded default model's shape: SD v1's U-Net topology (4 levels, 2 layers per block, 16
// transformer blocks, 8 heads, conv projections, 77-token cross-attention) in pixel space at 64x64 with
// few channels, and a small CLIP text encoder over the scene grammar's vocabulary.
#include "model/unet_config.h"
#include "text/clip_text_model.h"

namespace attnscope::tiny {

// The training recipes of docs/tiny-model.md, written into the asset's model_index.json. r2 differs from
// r1 in the attention localization loss (LocalizationLoss::Match instead of Inside) and offset noise; r3
// and r4 from r2 in the weighting of the epsilon MSE over timesteps (Min-SNR; capped v weighting); r5 adds
// a text encoder contrast between shape words, r6 a U-Net one, r9 relation twins to the U-Net's, r10 a
// text encoder contrast between opposite relations, r12 the U-Net's x/y input channels, r13 a relation
// term on the cross-attention maps and r14 a text encoder without the causal mask.
inline constexpr const char* kRecipeId = "attnscope-tiny-sd-r1";
inline constexpr const char* kRecipeIdMatch = "attnscope-tiny-sd-r2";
inline constexpr const char* kRecipeIdMinSnr = "attnscope-tiny-sd-r3";
inline constexpr const char* kRecipeIdVWeight = "attnscope-tiny-sd-r4";
inline constexpr const char* kRecipeIdShapeContrast = "attnscope-tiny-sd-r5";
inline constexpr const char* kRecipeIdUNetContrast = "attnscope-tiny-sd-r6";
inline constexpr const char* kRecipeIdRelationContrast = "attnscope-tiny-sd-r9";
inline constexpr const char* kRecipeIdRelationText = "attnscope-tiny-sd-r10";
inline constexpr const char* kRecipeIdCoordinates = "attnscope-tiny-sd-r12";
inline constexpr const char* kRecipeIdRelationAttention = "attnscope-tiny-sd-r13";
inline constexpr const char* kRecipeIdBidirectionalText = "attnscope-tiny-sd-r14";

// coordinate_channels: 0 up to r11, 2 (CoordConv's x and y) from r12.
UNetConfig tiny_unet_config(int coordinate_channels);
// causal: true up to r13; from r14 every token of a caption sees the whole caption.
ClipTextConfig tiny_text_config(int vocab_size, bool causal);

} // namespace attnscope::tiny
