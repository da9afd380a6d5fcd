#pragma once
// The U-Net's blocks in forward order for the tour (issue 23): resnets, transformers (with their attention
// index), down- and upsamplers, by path and resolution level, from the model's layout.
#include "attention/site.h"
#include "model/unet_layout.h"
#include "view_data.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace attnscope::gui {

std::vector<UNetBlockRow> unet_block_rows(const UNetLayout& layout);

// Sets each site's depth, the blocks of its transformer: SD v1/v2's are one deep, SDXL's up to ten. Returns
// the transformers more than one block deep: what the index grid can show as one summed tile.
std::set<std::string> group_by_transformer(std::vector<SiteRow>& sites);

} // namespace attnscope::gui
