#include "view_maps.h"

#include "compare/divergence_grid.h"
#include "tensor_views.h"

#include <c10/util/Exception.h>
#include <map>

namespace attnscope::gui {

namespace {

MapQuantity map_quantity(Quantity q) {
    switch (q) {
    case Quantity::Score:
        return MapQuantity::Score;
    case Quantity::Entropy:
        return MapQuantity::Entropy;
    case Quantity::Probability:
        break;
    }
    return MapQuantity::Probability;
}

// The steps, kind, quantity, guidance half, heads, tokens and query of the selection; sites and size are the
// caller's.
MapRequest base_request(const ViewRequest& v, const std::vector<int>& tokens) {
    MapRequest r;
    r.quantity = map_quantity(v.quantity);
    // The guidance batch is (uncond, cond): -1, the last item, is the prompt's half and the difference's
    // minuend.
    r.batch = v.half == GuidanceHalf::Uncond ? 0 : -1;
    r.batch_view = v.half == GuidanceHalf::Diff ? BatchView::CondMinusUncond : BatchView::Item;
    for (int k = v.steps_from < 0 ? v.step : v.steps_from; k <= v.step; ++k) r.steps.push_back(k);
    r.kind = v.self ? AttentionKind::Self : AttentionKind::Cross;
    r.heads = v.head_mode == HeadMode::Single ? HeadReduction::Single
              : v.head_mode == HeadMode::Max  ? HeadReduction::Max
                                              : HeadReduction::Mean;
    r.head = v.head;
    r.tokens.assign(tokens.begin(), tokens.end());
    r.query_x = v.query_x;
    r.query_y = v.query_y;
    return r;
}

// `main` made of each guidance half and of their difference.
MapPair guidance_halves(const CaptureStore& store, MapRequest main, bool on_device) {
    MapPair p;
    main.batch = -1; // (uncond, cond): the last item is the prompt's half
    main.batch_view = BatchView::Item;
    p.a = to_map(attention_map(store, main), on_device, false);
    main.batch = 0;
    p.b = to_map(attention_map(store, main), on_device, false);
    main.batch = -1;
    main.batch_view = BatchView::CondMinusUncond;
    p.diff = to_map(attention_map(store, main), on_device, false);
    return p;
}

} // namespace

MapResults compute_maps(const MapSources& src, const ViewRequest& v, bool on_device,
                        const std::function<void()>& between_maps) {
    MapResults out;
    out.request = v;
    const int sites = src.session.pipeline().unet.site_count();
    out.index_maps.resize(static_cast<size_t>(sites));
    if (src.comparison) {
        std::tie(out.divergence_self, out.divergence_cross) = src.comparison->divergence();
        out.divergence_range = kGridLog10Range;
    }
    if (v.step < 0) {
        out.error = "no step has run yet";
        return out;
    }
    // Entropy maps every query, whichever token or pixel is selected.
    if (!v.self && v.tokens.empty() && v.quantity != Quantity::Entropy) {
        out.error = "select a token";
        return out;
    }
    // Batch item 0 of an unguided run is the prompt's own: it must not pass for the negative prompt's.
    if (v.half != GuidanceHalf::Cond && !src.session.guided()) {
        out.error = "the session runs without classifier-free guidance (CFG <= 1): it has no unconditional "
                    "half";
        return out;
    }
    const auto& store = src.capture;
    const auto kind = v.self ? AttentionKind::Self : AttentionKind::Cross;
    std::vector<int> captured;
    for (int i = 1; i <= sites; ++i)
        if (store.find(v.step, i, kind)) captured.push_back(i);
    if (captured.empty()) {
        out.error = "step " + std::to_string(v.step + 1) + " has no " + to_string(kind) +
                    "-attention capture (evicted?)";
        return out;
    }
    const auto heads_of = [&](int index) { return store.find(v.step, index, kind)->site.heads; };
    const auto for_site = [&](int index, const std::vector<int>& tokens) {
        auto r = base_request(v, tokens);
        r.indices = {index};
        if (r.heads == HeadReduction::Single && r.head >= heads_of(index)) r.heads = HeadReduction::Mean;
        return r;
    };
    try {
        std::optional<MapRequest> main;
        if (v.aggregate) {
            main = base_request(v, v.tokens);
            main->indices = captured;
            main->out_width = static_cast<int>(src.session.latents().size(3));
            main->out_height = static_cast<int>(src.session.latents().size(2));
        } else if (store.find(v.step, v.index, kind)) {
            main = for_site(v.index, v.tokens);
        } else {
            out.error = "index " + std::to_string(v.index) + " was not captured at this step";
        }
        if (main) {
            between_maps();
            out.main = to_map(attention_map(store, *main), on_device, true);
            out.main_sites = main->indices;
            between_maps();
            if (src.comparison) out.compare = src.comparison->maps(*main, on_device);
            if (src.branch) out.branch = src.branch->maps(store, *main, on_device);
            between_maps();
            if (src.session.guided()) out.guidance = guidance_halves(store, *main, on_device);
        }
        const auto& thumb_tokens = v.thumb_tokens.empty() ? v.tokens : v.thumb_tokens;
        // A summed transformer's tile is its first block's: every block's map added at their shared size.
        std::map<std::string, std::vector<int>> blocks;
        for (const int i : captured)
            blocks[transformer_module(store.find(v.step, i, kind)->site.module)].push_back(i);
        for (const int i : captured) {
            const auto& site = store.find(v.step, i, kind)->site;
            auto r = for_site(i, thumb_tokens);
            if (v.summed.count(transformer_module(site.module))) {
                const auto& members = blocks[transformer_module(site.module)];
                if (members.front() != i) continue;
                r.indices = members;
                r.out_width = site.width;
                r.out_height = site.height;
            }
            between_maps();
            out.index_maps[i - 1] = to_map(attention_map(store, r), on_device, false);
        }
        if (store.find(v.step, v.index, kind)) {
            auto r = base_request(v, v.tokens);
            r.indices = {v.index};
            r.heads = HeadReduction::Single;
            for (int h = 0; h < heads_of(v.index); ++h) {
                between_maps();
                r.head = h;
                out.head_maps.push_back(to_map(attention_map(store, r), on_device, false));
            }
            for (const auto reduction : {HeadReduction::Mean, HeadReduction::Max}) {
                between_maps();
                r.heads = reduction;
                out.head_maps.push_back(to_map(attention_map(store, r), on_device, false));
            }
        }
        std::vector<ViewMap*> all = {&out.main,       &out.compare.a,    &out.compare.b,   &out.compare.diff,
                                     &out.branch.a,   &out.branch.b,     &out.branch.diff, &out.guidance.a,
                                     &out.guidance.b, &out.guidance.diff};
        for (auto& m : out.index_maps) all.push_back(&m);
        for (auto& m : out.head_maps) all.push_back(&m);
        fill_device_extremes(all);
    } catch (const c10::Error& e) {
        out.error = e.what_without_backtrace();
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

} // namespace attnscope::gui
