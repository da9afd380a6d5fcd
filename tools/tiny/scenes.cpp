#include "scenes.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace attnscope::tiny {
namespace {

constexpr double kPi = 3.14159265358979323846;

// splitmix64: tiny, and unlike <random>'s distributions gives the same numbers with every standard
// library, which is what makes a scene a function of (seed, index) everywhere.
class Rng {
  public:
    Rng(std::uint64_t seed, std::uint64_t index) : state_(mix(seed) ^ mix(index + 0x9e3779b97f4a7c15ULL)) {}
    std::uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ULL;
        return mix(state_);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; } // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    int below(int n) { return static_cast<int>(uniform() * n); }

  private:
    static std::uint64_t mix(std::uint64_t z) {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t state_;
};

// Equal-area shapes (see shape_area): the square's half side, the triangle's side and the star's outer
// radius for a circle of radius 1.
const double kSquareHalf = std::sqrt(kPi) / 2;
const double kTriangleSide = std::sqrt(4 * kPi / std::sqrt(3.0));
constexpr double kStarInner = 0.5; // inner / outer radius: fat enough to stay a star at 10 pixels
const double kStarOuter = std::sqrt(kPi / (5 * kStarInner * std::sin(kPi / 5)));

bool star_contains(double dx, double dy, double outer) {
    // Even-odd crossing test on the 10-vertex outline, first point straight up.
    std::array<double, 20> v{};
    for (int i = 0; i < 10; ++i) {
        const double r = i % 2 == 0 ? outer : outer * kStarInner;
        const double a = -kPi / 2 + i * kPi / 5;
        v[2 * i] = r * std::cos(a);
        v[2 * i + 1] = r * std::sin(a);
    }
    bool inside = false;
    for (int i = 0, j = 9; i < 10; j = i++) {
        const double xi = v[2 * i], yi = v[2 * i + 1], xj = v[2 * j], yj = v[2 * j + 1];
        if ((yi > dy) != (yj > dy) && dx < (xj - xi) * (dy - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
}

const char* size_word(SizeClass s) {
    return s == SizeClass::Small ? "small" : s == SizeClass::Big ? "big" : "medium";
}

const char* count_word(int n) {
    return n == 2 ? "two" : "three";
}

double radius_for(SizeClass s, Rng& rng) {
    switch (s) {
    case SizeClass::Small:
        return rng.uniform(4.5, 6.0);
    case SizeClass::Medium:
        return rng.uniform(7.0, 9.0);
    case SizeClass::Big:
        return rng.uniform(10.0, 12.5);
    }
    return 0;
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

// Phrase 0 stands in `relation` to phrase 1: every instance on its side, and the groups' centres
// clearly more apart along the relation's axis than across it so that the caption is unambiguous.
bool relation_holds(Relation rel, const std::vector<SceneObject>& objs) {
    if (rel == Relation::None) return true;
    double ax = 0, ay = 0, bx = 0, by = 0;
    int na = 0, nb = 0;
    for (const auto& o : objs) {
        if (o.phrase == 0) {
            ax += o.cx, ay += o.cy, ++na;
        } else {
            bx += o.cx, by += o.cy, ++nb;
        }
    }
    ax /= na, ay /= na, bx /= nb, by /= nb;
    const bool horizontal = rel == Relation::LeftOf || rel == Relation::RightOf;
    const double sign = rel == Relation::LeftOf || rel == Relation::Above ? 1 : -1;
    const double along = sign * (horizontal ? bx - ax : by - ay), across = horizontal ? by - ay : bx - ax;
    if (along < 8 || along < 1.5 * std::abs(across)) return false;
    for (const auto& a : objs)
        for (const auto& b : objs)
            if (a.phrase == 0 && b.phrase == 1 && sign * (horizontal ? b.cx - a.cx : b.cy - a.cy) <= 0)
                return false;
    return true;
}

bool place(std::vector<SceneObject>& objs, Relation rel, Rng& rng) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        bool ok = true;
        for (std::size_t i = 0; i < objs.size() && ok; ++i) {
            auto& o = objs[i];
            const double b = shape_bound(o.shape, o.radius);
            o.cx = rng.uniform(b + 1, kImageSize - b - 1);
            o.cy = rng.uniform(b + 1, kImageSize - b - 1);
            for (std::size_t j = 0; j < i && ok; ++j) {
                const auto& p = objs[j];
                const double gap = shape_bound(p.shape, p.radius) + b + 1.5;
                ok = std::hypot(o.cx - p.cx, o.cy - p.cy) > gap;
            }
        }
        if (ok && relation_holds(rel, objs)) return true;
    }
    return false;
}

Scene sample_any(Rng& rng) {
    for (;;) {
        Scene s;
        s.background = rng.below(static_cast<int>(background_colors().size()));
        const int phrases = rng.uniform() < 0.35 ? 1 : 2;
        for (int g = 0; g < phrases; ++g) {
            Phrase p;
            p.shape = all_shapes()[rng.below(static_cast<int>(all_shapes().size()))];
            // Colours differ between phrases and from the background, so each colour names one thing.
            do {
                p.color = rng.below(static_cast<int>(object_colors().size()));
            } while ((g == 1 && p.color == s.phrases[0].color) ||
                     std::string(object_colors()[p.color].name) == background_colors()[s.background].name);
            const double c = rng.uniform();
            p.count = c < 0.75 ? 1 : c < 0.9 ? 2 : 3;
            p.size = static_cast<SizeClass>(rng.below(p.count > 1 ? 2 : 3)); // groups are never big
            p.size_said = p.size != SizeClass::Medium;
            s.phrases.push_back(p);
        }
        s.relation = phrases == 2 ? static_cast<Relation>(1 + rng.below(4)) : Relation::None;
        for (int g = 0; g < phrases; ++g)
            for (int k = 0; k < s.phrases[g].count; ++k) {
                const auto& p = s.phrases[g];
                s.objects.push_back({p.shape, p.color, 0, 0, radius_for(p.size, rng), g});
            }
        if (!place(s.objects, s.relation, rng)) continue; // too crowded for these sizes: draw another

        const auto say = [&](const std::string& w) {
            s.words.push_back(w);
            return static_cast<int>(s.words.size()) - 1;
        };
        for (int g = 0; g < phrases; ++g) {
            auto& p = s.phrases[g];
            if (p.count > 1)
                p.count_word = say(count_word(p.count));
            else
                say("a");
            if (p.size_said) p.size_word = say(size_word(p.size));
            p.color_word = say(object_colors()[p.color].name);
            p.noun_word = say(shape_word(p.shape, p.count > 1));
            if (g == 0 && phrases == 2) {
                switch (s.relation) {
                case Relation::LeftOf:
                    say("left"), say("of");
                    break;
                case Relation::RightOf:
                    say("right"), say("of");
                    break;
                case Relation::Above:
                    say("above");
                    break;
                case Relation::Below:
                    say("below");
                    break;
                case Relation::None:
                    break;
                }
            }
        }
        say("on"), say("a");
        s.background_color_word = say(background_colors()[s.background].name);
        s.background_word = say("background");
        return s;
    }
}

} // namespace

const std::vector<NamedColor>& object_colors() {
    static const std::vector<NamedColor> c = {
        {"red", 220, 40, 40},  {"orange", 245, 140, 20}, {"yellow", 245, 220, 40}, {"green", 40, 170, 60},
        {"blue", 40, 90, 220}, {"purple", 140, 60, 190}, {"pink", 245, 130, 190},  {"white", 245, 245, 245},
    };
    return c;
}

const std::vector<NamedColor>& background_colors() {
    static const std::vector<NamedColor> c = {
        {"black", 20, 20, 20}, {"gray", 128, 128, 128}, {"white", 235, 235, 235}, {"brown", 120, 80, 45}};
    return c;
}

const std::vector<Shape>& all_shapes() {
    static const std::vector<Shape> s = {Shape::Circle, Shape::Square, Shape::Triangle, Shape::Star};
    return s;
}

std::string shape_word(Shape s, bool plural) {
    static const char* names[] = {"circle", "square", "triangle", "star"};
    return std::string(names[static_cast<int>(s)]) + (plural ? "s" : "");
}

Scene with_first_shape(Scene scene, Shape shape) {
    auto& phrase = scene.phrases.at(0);
    phrase.shape = shape;
    scene.words[phrase.noun_word] = shape_word(shape, phrase.count > 1);
    return scene;
}

std::string caption_with_relation(const Scene& scene, Relation relation) {
    if (scene.relation == Relation::None || relation == Relation::None)
        throw std::invalid_argument("caption_with_relation: needs two phrases and a relation");
    const auto said = [](Relation r) -> std::vector<std::string> {
        switch (r) {
        case Relation::LeftOf:
            return {"left", "of"};
        case Relation::RightOf:
            return {"right", "of"};
        case Relation::Above:
            return {"above"};
        default:
            return {"below"};
        }
    };
    // The relation's words follow the first phrase's noun.
    const auto at = scene.words.begin() + scene.phrases.at(0).noun_word + 1;
    std::vector<std::string> words(scene.words.begin(), at);
    const auto with = said(relation);
    words.insert(words.end(), with.begin(), with.end());
    words.insert(words.end(), at + static_cast<std::ptrdiff_t>(said(scene.relation).size()),
                 scene.words.end());
    std::string caption;
    for (const auto& w : words) caption += (caption.empty() ? "" : " ") + w;
    return caption;
}

Relation opposite(Relation relation) {
    switch (relation) {
    case Relation::LeftOf:
        return Relation::RightOf;
    case Relation::RightOf:
        return Relation::LeftOf;
    case Relation::Above:
        return Relation::Below;
    case Relation::Below:
        return Relation::Above;
    default:
        return Relation::None;
    }
}

Scene opposite_twin(const Scene& scene) {
    return *parse_caption(caption_with_relation(scene, opposite(scene.relation)));
}

std::string prompt_grammar() {
    const auto list = [](const std::vector<std::string>& words) {
        std::string out;
        for (const auto& w : words) out += (out.empty() ? "" : "|") + w;
        return out;
    };
    std::vector<std::string> colors, backgrounds, shapes, plurals;
    for (const auto& c : object_colors()) colors.push_back(c.name);
    for (const auto& c : background_colors()) backgrounds.push_back(c.name);
    for (const auto s : all_shapes())
        shapes.push_back(shape_word(s, false)), plurals.push_back(shape_word(s, true));
    return "PHRASE [RELATION PHRASE] on a BACKGROUND background; "
           "PHRASE = a [small|big] COLOR SHAPE | (two|three) [small] COLOR SHAPES; "
           "RELATION = left of|right of|above|below; BACKGROUND = " +
           list(backgrounds) + "; COLOR = " + list(colors) + "; SHAPE = " + list(shapes) +
           "; SHAPES = " + list(plurals);
}

std::vector<std::string> grammar_words() {
    std::vector<std::string> w = {"a", "two", "three", "small", "big"};
    for (const auto& c : object_colors()) w.push_back(c.name);
    for (const auto s : all_shapes()) w.push_back(shape_word(s, false));
    for (const auto s : all_shapes()) w.push_back(shape_word(s, true));
    for (const char* x : {"left", "right", "of", "above", "below", "on", "background"}) w.push_back(x);
    for (const auto& c : background_colors())
        if (std::find(w.begin(), w.end(), c.name) == w.end()) w.push_back(c.name);
    return w;
}

double shape_area(double radius) {
    return kPi * radius * radius;
}

double shape_bound(Shape s, double radius) {
    switch (s) {
    case Shape::Circle:
        return radius;
    case Shape::Square:
        return radius * kSquareHalf * std::sqrt(2.0);
    case Shape::Triangle:
        return radius * kTriangleSide / std::sqrt(3.0);
    case Shape::Star:
        return radius * kStarOuter;
    }
    return radius;
}

bool shape_contains(Shape s, double cx, double cy, double radius, double x, double y) {
    const double dx = x - cx, dy = y - cy;
    switch (s) {
    case Shape::Circle:
        return dx * dx + dy * dy <= radius * radius;
    case Shape::Square: {
        const double h = radius * kSquareHalf;
        return std::abs(dx) <= h && std::abs(dy) <= h;
    }
    case Shape::Triangle: { // point up, centroid at the centre: apex 2H/3 above it, base H/3 below
        const double a = radius * kTriangleSide, H = a * std::sqrt(3.0) / 2;
        return dy <= H / 3 && std::abs(dx) <= (dy + 2 * H / 3) * a / (2 * H);
    }
    case Shape::Star:
        return star_contains(dx, dy, radius * kStarOuter);
    }
    return false;
}

std::string Scene::caption() const {
    std::string c;
    for (const auto& w : words) c += (c.empty() ? "" : " ") + w;
    return c;
}

std::vector<int> Scene::word_labels() const {
    std::vector<int> l(words.size(), -1);
    for (std::size_t g = 0; g < phrases.size(); ++g)
        for (const int w :
             {phrases[g].count_word, phrases[g].size_word, phrases[g].color_word, phrases[g].noun_word})
            if (w >= 0) l[w] = static_cast<int>(g) + 1;
    l[background_color_word] = 0;
    l[background_word] = 0;
    return l;
}

bool is_held_out(const std::string& caption) {
    return fnv1a(caption) % 16 == 0;
}

Scene sample_scene(std::uint64_t seed, std::uint64_t index, Split split) {
    Rng rng(seed, index);
    for (;;) {
        Scene s = sample_any(rng);
        if (is_held_out(s.caption()) == (split == Split::HeldOut)) return s;
    }
}

std::optional<Scene> parse_caption(const std::string& caption) {
    Scene s;
    for (std::size_t i = 0; i < caption.size();) {
        const auto j = std::min(caption.find(' ', i), caption.size());
        if (j == i) return std::nullopt; // doubled or leading space: not a caption we write
        s.words.push_back(caption.substr(i, j - i));
        i = j + (j < caption.size());
    }
    std::size_t at = 0;
    const auto next_is = [&](const std::string& w) { return at < s.words.size() && s.words[at] == w; };
    const auto find_color = [](const std::vector<NamedColor>& palette, const std::string& w) {
        for (std::size_t i = 0; i < palette.size(); ++i)
            if (w == palette[i].name) return static_cast<int>(i);
        return -1;
    };
    const auto phrase = [&]() -> bool {
        Phrase p;
        if (next_is("a")) {
            ++at;
        } else if (next_is("two") || next_is("three")) {
            p.count = s.words[at] == "two" ? 2 : 3;
            p.count_word = static_cast<int>(at++);
        } else {
            return false;
        }
        if (next_is("small") || next_is("big")) {
            p.size = s.words[at] == "small" ? SizeClass::Small : SizeClass::Big;
            p.size_said = true;
            p.size_word = static_cast<int>(at++);
        }
        if (at >= s.words.size() || (p.color = find_color(object_colors(), s.words[at])) < 0) return false;
        p.color_word = static_cast<int>(at++);
        if (at >= s.words.size()) return false;
        bool found = false;
        for (const auto shape : all_shapes())
            if (s.words[at] == shape_word(shape, p.count > 1)) p.shape = shape, found = true;
        if (!found) return false;
        p.noun_word = static_cast<int>(at++);
        s.phrases.push_back(p);
        return true;
    };
    if (!phrase()) return std::nullopt;
    if (next_is("left") || next_is("right")) {
        s.relation = s.words[at] == "left" ? Relation::LeftOf : Relation::RightOf;
        if (!(++at, next_is("of"))) return std::nullopt;
        ++at;
    } else if (next_is("above") || next_is("below")) {
        s.relation = s.words[at++] == "above" ? Relation::Above : Relation::Below;
    }
    if (s.relation != Relation::None && !phrase()) return std::nullopt;
    if (!next_is("on") || (++at, !next_is("a"))) return std::nullopt;
    ++at;
    if (at >= s.words.size() || (s.background = find_color(background_colors(), s.words[at])) < 0)
        return std::nullopt;
    s.background_color_word = static_cast<int>(at++);
    if (!next_is("background") || at + 1 != s.words.size()) return std::nullopt;
    s.background_word = static_cast<int>(at);
    return s;
}

double sample_uniform(std::uint64_t seed, std::uint64_t index, std::uint64_t stream) {
    Rng rng(seed ^ (stream * 0xd1b54a32d192ed03ULL), index);
    return rng.uniform();
}

double RenderedScene::coverage_at(int label, int x, int y) const {
    return coverage[(static_cast<std::size_t>(label) * kImageSize + y) * kImageSize + x] /
           double(kSubsamples * kSubsamples);
}

std::vector<std::uint8_t> RenderedScene::mask(int label) const {
    std::vector<std::uint8_t> m(kImageSize * kImageSize);
    for (int y = 0; y < kImageSize; ++y)
        for (int x = 0; x < kImageSize; ++x) m[y * kImageSize + x] = coverage_at(label, x, y) >= 0.5;
    return m;
}

double RenderedScene::visible_area(int label) const {
    double a = 0;
    for (int y = 0; y < kImageSize; ++y)
        for (int x = 0; x < kImageSize; ++x) a += coverage_at(label, x, y);
    return a;
}

RenderedScene render_scene(const Scene& scene) {
    constexpr int N = kImageSize, S = kSubsamples;
    RenderedScene out;
    out.labels = scene.labels();
    out.rgb.assign(N * N * 3, 0);
    out.coverage.assign(static_cast<std::size_t>(out.labels) * N * N, 0);
    const auto& bg = background_colors()[scene.background];
    for (int y = 0; y < N; ++y)
        for (int x = 0; x < N; ++x) {
            int sum[3] = {0, 0, 0};
            for (int sy = 0; sy < S; ++sy)
                for (int sx = 0; sx < S; ++sx) {
                    const double px = x + (sx + 0.5) / S, py = y + (sy + 0.5) / S;
                    const NamedColor* c = &bg;
                    int label = 0;
                    for (auto o = scene.objects.rbegin(); o != scene.objects.rend(); ++o) {
                        const double b = shape_bound(o->shape, o->radius);
                        if (std::abs(px - o->cx) > b || std::abs(py - o->cy) > b) continue;
                        if (shape_contains(o->shape, o->cx, o->cy, o->radius, px, py)) {
                            c = &object_colors()[o->color];
                            label = o->phrase + 1;
                            break;
                        }
                    }
                    sum[0] += c->r, sum[1] += c->g, sum[2] += c->b;
                    ++out.coverage[(static_cast<std::size_t>(label) * N + y) * N + x];
                }
            for (int ch = 0; ch < 3; ++ch)
                out.rgb[(y * N + x) * 3 + ch] = static_cast<std::uint8_t>((sum[ch] + S * S / 2) / (S * S));
        }
    return out;
}

} // namespace attnscope::tiny
