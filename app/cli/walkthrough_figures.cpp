#include "walkthrough_figures.h"

#include "render/figure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace attnscope::cli {
namespace {

constexpr int kMargin = 12, kRow = 11, kLabel = 110, kColumn = 180, kMapSide = 256;
const Rgb8 kInk{0, 0, 0}, kGray{120, 120, 120}, kBar{70, 130, 220}, kMark{230, 30, 30};

std::vector<double> doubles(const at::Tensor& t) {
    const auto c = t.contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

double largest_abs(const std::vector<double>& v) {
    double m = 0;
    for (const double x : v) m = std::max(m, std::abs(x));
    return m;
}

std::string number(double v) {
    char s[32];
    std::snprintf(s, sizeof s, "%.4g", v);
    return s;
}

std::string clipped(const std::string& s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

// A row of cells coloured by value (blue negative, red positive), scaled to the row's largest |value|.
void strip(Figure& f, int x, int y, int cell, int height, const std::vector<double>& v) {
    const double limit = largest_abs(v);
    for (std::size_t i = 0; i < v.size(); ++i)
        f.fill(x + static_cast<int>(i) * cell, y, cell, height, diverging_color(v[i], limit));
}

// A horizontal bar from a zero axis in the column's middle (or its left edge when nothing is negative).
void bar(Figure& f, int x, int y, double value, double limit, bool signed_axis, Rgb8 colour) {
    const int span = kColumn - 75, axis = x + (signed_axis ? span / 2 : 0);
    const int length =
        limit > 0 ? static_cast<int>(std::lround(value / limit * (signed_axis ? span / 2 : span))) : 0;
    f.fill(std::min(axis, axis + length), y + 1, std::abs(length), kRow - 2, colour);
    f.fill(axis, y, 1, kRow, kGray);
    f.text(x + span + 4, y, number(value), kGray);
}

// At least as wide as the title line.
int width_for(int content, const std::string& title, const std::string& footer = "") {
    return std::max(
        {content, 2 * kMargin + Figure::text_width(title), 2 * kMargin + Figure::text_width(footer)});
}

struct Column {
    std::string name;
    std::vector<double> values;
};

// One row per key: its label, then a bar per column (the keys of cross-attention are the 77 tokens).
Figure key_rows(const std::string& title, const std::vector<std::string>& labels,
                const std::vector<Column>& columns, const std::string& footer) {
    const int rows = static_cast<int>(labels.size());
    Figure f(width_for(2 * kMargin + kLabel + kColumn * static_cast<int>(columns.size()), title, footer),
             2 * kMargin + 3 * kRow + (rows + 1) * kRow + 4 * Figure::line_height());
    int y = kMargin;
    f.text(kMargin, y, title, kInk);
    y += 2 * kRow;
    for (std::size_t c = 0; c < columns.size(); ++c)
        f.text(kMargin + kLabel + static_cast<int>(c) * kColumn, y, columns[c].name, kInk);
    y += kRow + 2;
    for (int r = 0; r < rows; ++r, y += kRow) {
        f.text(kMargin, y, std::to_string(r) + " " + clipped(labels[r], 14), kInk);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            const auto& v = columns[c].values;
            const bool negative = std::any_of(v.begin(), v.end(), [](double x) { return x < 0; });
            bar(f, kMargin + kLabel + static_cast<int>(c) * kColumn, y, v[r], largest_abs(v), negative, kBar);
        }
    }
    f.text(kMargin, y + kRow, footer, kInk);
    return f;
}

// A map over the site's grid, scaled to about kMapSide pixels, with the query pixel outlined.
void grid_map(Figure& f, int x, int y, const AttentionSite& site, const std::vector<double>& v, int64_t query,
              const std::string& caption) {
    const int cell = std::max(1, kMapSide / std::max(site.width, site.height));
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const Colormaps maps;
    const ValueRange range{static_cast<float>(*lo), static_cast<float>(*hi)};
    for (int gy = 0; gy < site.height; ++gy)
        for (int gx = 0; gx < site.width; ++gx)
            f.fill(x + gx * cell, y + gy * cell, cell, cell,
                   color_of(static_cast<float>(v[gy * site.width + gx]), range, maps.lut(Colormap::Viridis)));
    const int qx = static_cast<int>(query % site.width), qy = static_cast<int>(query / site.width);
    const int side = std::max(cell, 3);
    f.fill(x + qx * cell - 1, y + qy * cell - 1, side + 2, 1, kMark);
    f.fill(x + qx * cell - 1, y + qy * cell + side, side + 2, 1, kMark);
    f.fill(x + qx * cell - 1, y + qy * cell - 1, 1, side + 2, kMark);
    f.fill(x + qx * cell + side, y + qy * cell - 1, 1, side + 2, kMark);
    f.text(x, y + cell * site.height + 4, caption + " (" + number(*lo) + " .. " + number(*hi) + ")", kInk);
}

// Maps side by side for self-attention: the key grid is the image's own grid.
Figure grid_maps(const std::string& title, const AttentionSite& site, int64_t query,
                 const std::vector<Column>& maps, const std::string& footer) {
    const int cell = std::max(1, kMapSide / std::max(site.width, site.height));
    const int side = cell * std::max(site.width, site.height);
    Figure f(
        width_for(2 * kMargin + static_cast<int>(maps.size()) * (side + 2 * kMargin) + 60, title, footer),
        2 * kMargin + 2 * kRow + side + 4 * Figure::line_height());
    f.text(kMargin, kMargin, title, kInk);
    for (std::size_t m = 0; m < maps.size(); ++m)
        grid_map(f, kMargin + static_cast<int>(m) * (side + 2 * kMargin), kMargin + 2 * kRow, site,
                 maps[m].values, query, maps[m].name);
    f.text(kMargin, kMargin + 2 * kRow + side + 2 * kRow, footer, kInk);
    return f;
}

Figure stage_figure(const QueryWalkthrough& w, const std::vector<std::string>& labels,
                    const std::string& title, const std::vector<Column>& columns, const std::string& footer) {
    if (w.site.kind == AttentionKind::Self) return grid_maps(title, w.site, w.query, columns, footer);
    return key_rows(title, labels, columns, footer);
}

Figure query_figure(const QueryWalkthrough& w, const std::string& title) {
    const auto q = doubles(w.q);
    const int cell = std::max(4, 640 / static_cast<int>(q.size()));
    Figure f(width_for(2 * kMargin + cell * static_cast<int>(q.size()) + 40, title), 2 * kMargin + 10 * kRow);
    f.text(kMargin, kMargin, title, kInk);
    f.text(kMargin, kMargin + 2 * kRow,
           "q: " + std::to_string(q.size()) + " values (d_k) of head " + std::to_string(w.head) +
               ", the query's row of Q",
           kInk);
    strip(f, kMargin, kMargin + 3 * kRow + 2, cell, 30, q);
    f.text(kMargin, kMargin + 6 * kRow,
           "blue < 0 < red, up to |q| max " + number(largest_abs(q)) + "; |q| = " +
               number(std::sqrt(w.q.dot(w.q).item<double>())) + "; scale 1/sqrt(d_k) = " + number(w.scale),
           kInk);
    return f;
}

// Each channel of O as a stacked bar of the keys' contributions P_j v_j: the five keys with the most
// attention in colour, the others together in gray.
Figure output_figure(const QueryWalkthrough& w, const std::vector<std::string>& labels,
                     const std::string& title) {
    const auto probs = doubles(w.probs);
    std::vector<int> order(probs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    const std::size_t shown = std::min<std::size_t>(5, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<long>(shown), order.end(),
                      [&](int a, int b) { return probs[a] > probs[b]; });
    const Rgb8 colours[5] = {{220, 60, 60}, {60, 140, 220}, {60, 170, 90}, {230, 150, 30}, {150, 80, 200}};
    const int d = static_cast<int>(w.out.size(0)), cell = std::max(4, 640 / d), half = 90;
    const auto contributions = doubles(w.contributions);
    const int64_t keys = w.contributions.size(0);
    const auto out = doubles(w.out);
    double limit = 1e-30;
    for (int c = 0; c < d; ++c) {
        double up = 0, down = 0;
        for (int64_t j = 0; j < keys; ++j) {
            const double v = contributions[j * d + c];
            (v > 0 ? up : down) += v;
        }
        limit = std::max({limit, up, -down});
    }
    const auto joined = doubles(w.head_outputs.reshape({-1}));
    const int joined_cell = std::max(1, 640 / static_cast<int>(joined.size()));
    Figure f(width_for(2 * kMargin + std::max(cell * d, joined_cell * static_cast<int>(joined.size())) + 60,
                       title),
             2 * kMargin + 2 * kRow + 2 * half + 20 * kRow);
    f.text(kMargin, kMargin, title, kInk);
    const int axis = kMargin + 2 * kRow + half;
    for (int c = 0; c < d; ++c) {
        // From running sums, so that thousands of thin slices (a self-attention site's keys) still add up.
        const auto stack = [&](int64_t j, Rgb8 colour, double& up, double& down) {
            const double v = contributions[j * d + c];
            auto& sum = v > 0 ? up : down;
            const int from = static_cast<int>(std::lround(sum / limit * half));
            sum += v;
            const int to = static_cast<int>(std::lround(sum / limit * half));
            f.fill(kMargin + c * cell, axis - std::max(from, to), cell - 1, std::abs(to - from), colour);
        };
        double up = 0, down = 0;
        for (std::size_t s = 0; s < shown; ++s) stack(order[s], colours[s], up, down);
        for (int64_t j = 0; j < keys; ++j)
            if (std::find(order.begin(), order.begin() + static_cast<long>(shown), j) ==
                order.begin() + static_cast<long>(shown))
                stack(j, {190, 190, 190}, up, down);
    }
    f.fill(kMargin, axis, cell * d, 1, kInk);
    int y = axis + half + kRow;
    int x = kMargin;
    for (std::size_t s = 0; s < shown; ++s) {
        f.fill(x, y + 2, 8, 8, colours[s]);
        x += 12 + f.text(x + 12, y, clipped(labels[order[s]], 12) + " P=" + number(probs[order[s]]), kInk) +
             12;
    }
    f.fill(x, y + 2, 8, 8, {190, 190, 190});
    f.text(x + 12, y, "the other keys", kInk);
    y += 2 * kRow;
    f.text(kMargin, y, "O = sum_j P_j v_j (head " + std::to_string(w.head) + "):", kInk);
    strip(f, kMargin, y + kRow, cell, 16, out);
    y += 3 * kRow;
    f.text(kMargin, y,
           "the " + std::to_string(w.site.heads) + " heads' O joined (" + std::to_string(joined.size()) +
               " channels), head " + std::to_string(w.head) + " underlined:",
           kInk);
    strip(f, kMargin, y + kRow, joined_cell, 16, joined);
    f.fill(kMargin + joined_cell * d * w.head, y + kRow + 18, joined_cell * d, 3, kInk);
    y += 3 * kRow + 4;
    if (w.projected.defined()) {
        const auto projected = doubles(w.projected);
        f.text(kMargin, y,
               "W_out joined + b_out: added to the residual stream (|.| = " +
                   number(std::sqrt(w.projected.dot(w.projected).item<double>())) + ")",
               kInk);
        strip(f, kMargin, y + kRow, joined_cell, 16, projected);
    }
    return f;
}

} // namespace

std::vector<std::string> write_walkthrough_figures(const std::string& dir, const QueryWalkthrough& w,
                                                   const std::vector<std::string>& labels,
                                                   const std::string& title) {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    const auto save = [&](const std::string& name, const Figure& f) {
        write_figure((fs::path(dir) / name).string(), f);
        files.push_back(name);
    };
    save("1-query.png", query_figure(w, title));
    save("2-scores.png",
         stage_figure(w, labels, title, {{"score s_j = scale q.k_j", doubles(w.scores)}},
                      "scale = 1/sqrt(" + std::to_string(w.site.head_dim) + ") = " + number(w.scale)));
    save("3-softmax.png", stage_figure(w, labels, title,
                                       {{"s_j - max", doubles(w.scores - w.row_max)},
                                        {"exp(s_j - max)", doubles(w.exps)},
                                        {"P_j = exp / sum", doubles(w.probs)}},
                                       "max = " + number(w.row_max) + ", sum = " + number(w.exp_sum) +
                                           ", LSE = max + ln(sum) = " + number(w.lse) +
                                           " (captured: " + number(w.captured_lse) + "); P sums to " +
                                           number(w.probs.sum().item<double>())));
    if (w.out.defined()) save("4-output.png", output_figure(w, labels, title));
    if (w.other_probs.defined()) {
        const bool cond = w.batch > w.other_batch;
        std::string footer = "classifier-free guidance runs both halves as one batch";
        if (w.eps_guided.defined())
            footer += "; at latent pixel (" + std::to_string(w.latent_x) + "," + std::to_string(w.latent_y) +
                      "), channel 0: eps = uncond + " + number(w.guidance_scale) +
                      " x (cond - uncond) = " + number(w.eps_uncond[0].item<double>()) + " + " +
                      number(w.guidance_scale) + " x (" + number(w.eps_cond[0].item<double>()) + " - " +
                      number(w.eps_uncond[0].item<double>()) +
                      ") = " + number(w.eps_guided[0].item<double>());
        save("5-guidance.png",
             stage_figure(w, labels, title,
                          {{cond ? "P, prompt (cond)" : "P, negative (uncond)", doubles(w.probs)},
                           {cond ? "P, negative (uncond)" : "P, prompt (cond)", doubles(w.other_probs)}},
                          footer));
    }
    return files;
}

} // namespace attnscope::cli
