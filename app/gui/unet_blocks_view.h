#pragma once
// The U-Net's blocks in forward order for the tour (issue 23): resnets, transformers (with their attention
// index), down- and upsamplers, by path and resolution level, from the model's layout.
#include "model/unet_layout.h"
#include "view_data.h"

#include <vector>

namespace attnscope::gui {

std::vector<UNetBlockRow> unet_block_rows(const UNetLayout& layout);

} // namespace attnscope::gui
