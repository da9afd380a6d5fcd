#pragma once
// The panels of the main window. Each draws its contents into the window the layout has opened.
#include "ui.h"

namespace attnscope::gui {

void panel_model(Ui& ui);     // model path, prompt and generation settings
void panel_transport(Ui& ui); // step, play, run, reset, the step timeline
void panel_image(Ui& ui);     // x0 preview, heatmap overlay, colour bar, export
void panel_guidance(Ui& ui);  // the selection in either guidance half and their difference, side by side
void panel_compare(Ui& ui);   // two backends or precisions in lockstep: divergence grids, P_A and P_B, images
void panel_branches(Ui& ui);  // attention edits, branches re-run with them, original beside branch
void panel_token_mass(Ui& ui);  // where each site's cross-attention goes: start, prompt, end, padding
void panel_int8(Ui& ui);        // the int8 kernel's quantization of the selected call: scores, steps, P error
void panel_walkthrough(Ui& ui); // one query's attention stage by stage with the step's numbers
void panel_tour(Ui& ui);        // the U-Net as a diagram; a forward pass lights its sites in order
void panel_sweep(Ui& ui);       // a LoRA's scale swept: images and the selected tokens' maps per scale
void panel_tokens(Ui& ui);      // the prompt's tokens as chips
void panel_index_grid(Ui& ui);  // the 16 sites laid out like the U-Net
void panel_heads(Ui& ui);       // every head of the selected site, the mean and the max
void panel_teaching(Ui& ui);    // shapes, the formula with the selected site's numbers
void panel_status(Ui& ui);      // device, backends, timings, capture memory

// Shared look.
inline constexpr ImU32 kSelectedOutline = IM_COL32(255, 210, 0, 255);
inline constexpr ImU32 kQueryMarker = IM_COL32(0, 255, 255, 255);
inline const ImVec4 kErrorColor(1.0f, 0.42f, 0.38f, 1.0f);

} // namespace attnscope::gui
