#include "image_check.h"

#include <algorithm>
#include <cmath>

namespace attnscope::tiny {
namespace {

constexpr int N = kImageSize;
constexpr int kMinBlob = 6;          // pixels: smaller specks are noise, not objects
constexpr double kMaxColorDist = 45; // RGB distance to the nearest palette colour: edge blends stay out

// Palette index of each pixel: object colours 0..K-1, background colours K.., -1 for none close enough.
std::vector<int> classify_pixels(const std::vector<std::uint8_t>& rgb) {
    std::vector<NamedColor> palette = object_colors();
    palette.insert(palette.end(), background_colors().begin(), background_colors().end());
    std::vector<int> cls(N * N, -1);
    for (int i = 0; i < N * N; ++i) {
        double best = kMaxColorDist * kMaxColorDist;
        for (std::size_t c = 0; c < palette.size(); ++c) {
            const double dr = rgb[3 * i] - palette[c].r, dg = rgb[3 * i + 1] - palette[c].g,
                         db = rgb[3 * i + 2] - palette[c].b;
            const double d = dr * dr + dg * dg + db * db;
            if (d < best) best = d, cls[i] = static_cast<int>(c);
        }
    }
    // "white" is in both palettes: one colour, counted as the object's when an object is white.
    const int k = static_cast<int>(object_colors().size());
    for (auto& c : cls)
        if (c >= k && std::string(background_colors()[c - k].name) == "white") {
            for (int o = 0; o < k; ++o)
                if (std::string(object_colors()[o].name) == "white") c = o;
        }
    return cls;
}

struct Blob {
    std::vector<int> pixels;
    double cx = 0, cy = 0;
};

std::vector<Blob> blobs_of(const std::vector<int>& cls, int color) {
    std::vector<Blob> out;
    std::vector<char> seen(N * N, 0);
    for (int start = 0; start < N * N; ++start) {
        if (seen[start] || cls[start] != color) continue;
        Blob b;
        std::vector<int> stack{start};
        seen[start] = 1;
        while (!stack.empty()) {
            const int p = stack.back();
            stack.pop_back();
            b.pixels.push_back(p);
            const int x = p % N, y = p / N;
            const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
            for (const auto& q : nb)
                if (q[0] >= 0 && q[0] < N && q[1] >= 0 && q[1] < N && !seen[q[1] * N + q[0]] &&
                    cls[q[1] * N + q[0]] == color) {
                    seen[q[1] * N + q[0]] = 1;
                    stack.push_back(q[1] * N + q[0]);
                }
        }
        if (static_cast<int>(b.pixels.size()) < kMinBlob) continue;
        for (const int p : b.pixels) b.cx += p % N + 0.5, b.cy += p / N + 0.5;
        b.cx /= b.pixels.size(), b.cy /= b.pixels.size();
        out.push_back(std::move(b));
    }
    std::sort(out.begin(), out.end(),
              [](const Blob& a, const Blob& b) { return a.pixels.size() > b.pixels.size(); });
    return out;
}

Shape classify_shape(const Blob& b) {
    std::vector<char> in(N * N, 0);
    for (const int p : b.pixels) in[p] = 1;
    const double radius = std::sqrt(b.pixels.size() / 3.14159265358979323846);
    Shape best = Shape::Circle;
    double best_iou = -1;
    for (const auto s : all_shapes()) {
        int inter = 0, uni = 0;
        for (int y = 0; y < N; ++y)
            for (int x = 0; x < N; ++x) {
                const bool t = shape_contains(s, b.cx, b.cy, radius, x + 0.5, y + 0.5);
                inter += t && in[y * N + x];
                uni += t || in[y * N + x];
            }
        const double iou = uni ? static_cast<double>(inter) / uni : 0;
        if (iou > best_iou) best_iou = iou, best = s;
    }
    return best;
}

} // namespace

std::string ImageCheck::describe() const {
    std::string s = std::string("background ") + (background ? "ok" : "WRONG") + ", colours " +
                    (colors ? "ok" : "WRONG") + ", counts " + (counts ? "ok" : "WRONG") + ", shapes " +
                    (shapes ? "ok" : "WRONG") + " (";
    for (std::size_t i = 0; i < shape_seen.size(); ++i) s += (i ? "," : "") + shape_seen[i];
    return s + "), relation " + (relation ? "ok" : "WRONG");
}

ImageCheck check_image(const std::vector<std::uint8_t>& rgb, const Scene& scene) {
    const auto cls = classify_pixels(rgb);
    const int k = static_cast<int>(object_colors().size());
    std::vector<int> histogram(k + background_colors().size(), 0);
    for (const int c : cls)
        if (c >= 0) ++histogram[c];
    int bg_class = k + scene.background;
    if (std::string(background_colors()[scene.background].name) == "white")
        for (int o = 0; o < k; ++o)
            if (std::string(object_colors()[o].name) == "white") bg_class = o;

    ImageCheck r;
    r.background = std::max_element(histogram.begin(), histogram.end()) - histogram.begin() == bg_class;
    r.colors = r.counts = r.shapes = true;
    std::vector<std::pair<double, double>> centroids;
    for (const auto& p : scene.phrases) {
        const auto blobs = blobs_of(cls, p.color);
        r.colors = r.colors && !blobs.empty();
        r.counts = r.counts && static_cast<int>(blobs.size()) == p.count;
        if (blobs.empty()) {
            r.shapes = false;
            r.shape_seen.push_back("");
            centroids.emplace_back(0, 0);
            continue;
        }
        const Shape seen = classify_shape(blobs.front());
        r.shape_seen.push_back(shape_word(seen, false));
        r.shapes = r.shapes && seen == p.shape;
        double cx = 0, cy = 0, n = 0;
        for (const auto& b : blobs)
            cx += b.cx * b.pixels.size(), cy += b.cy * b.pixels.size(), n += b.pixels.size();
        centroids.emplace_back(cx / n, cy / n);
    }
    r.relation = true;
    if (scene.relation != Relation::None && centroids.size() == 2 && r.colors) {
        const double dx = centroids[1].first - centroids[0].first,
                     dy = centroids[1].second - centroids[0].second;
        switch (scene.relation) {
        case Relation::LeftOf:
            r.relation = dx > 0 && std::abs(dx) > std::abs(dy);
            break;
        case Relation::RightOf:
            r.relation = dx < 0 && std::abs(dx) > std::abs(dy);
            break;
        case Relation::Above:
            r.relation = dy > 0 && std::abs(dy) > std::abs(dx);
            break;
        case Relation::Below:
            r.relation = dy < 0 && std::abs(dy) > std::abs(dx);
            break;
        case Relation::None:
            break;
        }
    } else if (scene.relation != Relation::None) {
        r.relation = false;
    }
    return r;
}

} // namespace attnscope::tiny
