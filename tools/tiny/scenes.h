#pragma once
// The tiny model's world: captioned 64x64 scenes of flat-coloured shapes on a plain background, drawn
// with anti-aliased edges, with the exact visible coverage of every object so attention can be scored.
// No LibTorch: the tests and light tools use it on its own.
//
// Grammar (one word per CLIP token with the tiny vocabulary):
//   caption := phrase [relation phrase] "on a" BACKGROUND "background"
//   phrase  := "a" [SIZE] COLOR SHAPE | COUNT [SIZE] COLOR SHAPES
//   relation:= "left of" | "right of" | "above" | "below"
// e.g. "a red circle left of a big blue square on a gray background",
//      "two small yellow stars on a black background".
// A scene is a pure function of (seed, index): the same pair gives the same pixels on every machine.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope::tiny {

inline constexpr int kImageSize = 64;
inline constexpr int kMaxPhrases = 2;
inline constexpr int kMaxLabels = kMaxPhrases + 1; // label 0 is the background, g + 1 is phrase g

enum class Shape { Circle, Square, Triangle, Star };
enum class SizeClass { Small, Medium, Big };
enum class Relation { None, LeftOf, RightOf, Above, Below };

struct NamedColor {
    const char* name;
    std::uint8_t r, g, b;
};

const std::vector<NamedColor>& object_colors();
const std::vector<NamedColor>& background_colors();
const std::vector<Shape>& all_shapes();
std::string shape_word(Shape s, bool plural); // "circle" / "circles"
// Every word a caption can contain, each once, in a fixed order (the tiny vocabulary is built from it).
std::vector<std::string> grammar_words();
// The grammar above in core/text/prompt_grammar.h's notation, words from the palettes: what model_index.json
// declares as "prompt_grammar" (the prompt box's examples and unknown words come from it).
std::string prompt_grammar();

// The area of a shape of size parameter `radius`: every shape has the area of the circle of that
// radius, so size words mean the same amount of paint whatever the shape.
double shape_area(double radius);
// Half the extent of the circle around the shape, for placement.
double shape_bound(Shape s, double radius);
// Whether the point lies inside the shape centred (centroid) at cx, cy.
bool shape_contains(Shape s, double cx, double cy, double radius, double x, double y);

struct SceneObject { // one drawn instance
    Shape shape = Shape::Circle;
    int color = 0; // index into object_colors()
    double cx = 0, cy = 0, radius = 0;
    int phrase = 0; // the noun phrase it belongs to
};

struct Phrase { // "two small red circles": one or more instances sharing shape, colour and size
    Shape shape = Shape::Circle;
    int color = 0;
    SizeClass size = SizeClass::Medium;
    bool size_said = false; // medium objects get no size word
    int count = 1;
    // Positions in Scene::words; -1 where the word is absent.
    int count_word = -1, size_word = -1, color_word = -1, noun_word = -1;
};

struct Scene {
    int background = 0; // index into background_colors()
    std::vector<Phrase> phrases;
    std::vector<SceneObject> objects; // in drawing order: later ones cover earlier ones
    Relation relation = Relation::None;
    std::vector<std::string> words;
    int background_color_word = -1, background_word = -1;

    std::string caption() const; // the words joined by single spaces
    // The label each word refers to (0 background, g + 1 phrase g) or -1 for function words.
    std::vector<int> word_labels() const;
    int labels() const { return static_cast<int>(phrases.size()) + 1; }
};

// Training and evaluation never share a caption: a caption is held out when its hash says so.
enum class Split { Train, HeldOut };
bool is_held_out(const std::string& caption);

Scene sample_scene(std::uint64_t seed, std::uint64_t index, Split split);
// The scene with its first phrase's shape and noun replaced: the caption naming another shape, same layout
// (what the shape-word evaluation and the shape contrast compare against).
Scene with_first_shape(Scene scene, Shape shape);
// The caption of a two-phrase scene with its relation naming `relation` instead, the layout unchanged (what
// the relation contrast compares against).
std::string caption_with_relation(const Scene& scene, Relation relation);
// The relation with the phrases' places swapped ("left of" for "right of", "above" for "below"): said in as
// many words, so a caption and its opposite twin have every later word at the same token position.
Relation opposite(Relation relation);
// The scene a two-phrase scene's caption describes under the opposite relation (parse_caption's: words and
// positions, no layout), what the relation contrast and its evaluation compare a caption with.
Scene opposite_twin(const Scene& scene);
// The scene a caption describes, without objects (no layout): phrases, relation, background and word
// positions. nullopt when the caption is not a sentence of the grammar.
std::optional<Scene> parse_caption(const std::string& caption);
// A uniform [0, 1) number that is a pure function of its arguments, for per-sample decisions made
// outside the scene (dropping the caption, say); `stream` keeps unrelated decisions independent.
double sample_uniform(std::uint64_t seed, std::uint64_t index, std::uint64_t stream);

inline constexpr int kSubsamples = 4; // per pixel side: 16 coverage samples per pixel

struct RenderedScene {
    std::vector<std::uint8_t> rgb; // kImageSize^2 * 3, row-major, RGB
    // Visible coverage per label, label-major: coverage[l * kImageSize^2 + y * kImageSize + x] in
    // 0..kSubsamples^2 (sub-samples where label l is the top-most thing). Labels sum to kSubsamples^2.
    std::vector<std::uint8_t> coverage;
    int labels = 0;

    double coverage_at(int label, int x, int y) const; // 0..1
    // Pixels where `label` covers at least half: the object's mask.
    std::vector<std::uint8_t> mask(int label) const;
    double visible_area(int label) const; // in pixels
};

RenderedScene render_scene(const Scene& scene);

} // namespace attnscope::tiny
