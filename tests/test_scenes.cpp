// The tiny model's data: scenes are reproducible, their masks exact, their captions parse, train and
// held-out captions never meet, the image check recognises ground truth, and the tiny vocabulary gives one
// token per word.
#include "image_check.h"
#include "scenes.h"
#include "text/clip_tokenizer.h"
#include "text/prompt_guide.h"
#include "vocab.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace attnscope::tiny {
namespace {

const std::string kTokenizer = std::string(ATTNSCOPE_TINY_MODEL) + "/tokenizer";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The caption without its relation's words ("left", "right", "of", "above", "below").
std::string with_relation_words_removed(const std::string& caption) {
    std::istringstream in(caption);
    std::string out;
    for (std::string w; in >> w;)
        if (w != "left" && w != "right" && w != "of" && w != "above" && w != "below") out += w + " ";
    return out;
}

TEST(TinyScenes, SameSeedAndIndexGiveTheSamePixels) {
    for (uint64_t i = 0; i < 20; ++i) {
        const auto a = sample_scene(7, i, Split::Train), b = sample_scene(7, i, Split::Train);
        EXPECT_EQ(a.caption(), b.caption());
        ASSERT_EQ(a.objects.size(), b.objects.size());
        for (std::size_t k = 0; k < a.objects.size(); ++k) EXPECT_EQ(a.objects[k].cx, b.objects[k].cx);
        EXPECT_EQ(render_scene(a).rgb, render_scene(b).rgb);
    }
    std::set<std::string> captions;
    for (uint64_t i = 0; i < 50; ++i) captions.insert(sample_scene(7, i, Split::Train).caption());
    EXPECT_GT(captions.size(), 40u); // indices give different scenes
    EXPECT_NE(sample_scene(7, 0, Split::Train).objects.front().cx,
              sample_scene(8, 0, Split::Train).objects.front().cx);
}

// The known caption of a fixed (seed, index): a change to the sampler changes every trained model's data.
TEST(TinyScenes, CaptionsAreStableAcrossBuilds) {
    EXPECT_EQ(sample_scene(1, 0, Split::HeldOut).caption(),
              "a yellow star above a big green triangle on a white background");
}

TEST(TinyScenes, VisibleCoverageMatchesTheAnalyticArea) {
    for (uint64_t i = 0; i < 60; ++i) {
        const auto s = sample_scene(3, i, Split::Train);
        const auto r = render_scene(s);
        ASSERT_EQ(r.labels, static_cast<int>(s.phrases.size()) + 1);
        // Every sub-sample belongs to exactly one label.
        for (int y = 0; y < kImageSize; ++y)
            for (int x = 0; x < kImageSize; ++x) {
                double sum = 0;
                for (int l = 0; l < r.labels; ++l) sum += r.coverage_at(l, x, y);
                ASSERT_DOUBLE_EQ(sum, 1.0);
            }
        for (std::size_t g = 0; g < s.phrases.size(); ++g) {
            double area = 0;
            for (const auto& o : s.objects)
                if (o.phrase == static_cast<int>(g)) area += shape_area(o.radius);
            const int label = static_cast<int>(g) + 1;
            // Objects never overlap, so what is visible is all of them; 16 samples a pixel leave ~1% error.
            EXPECT_NEAR(r.visible_area(label), area, 0.02 * area + 2) << s.caption();
            double mask_pixels = 0;
            for (const auto m : r.mask(label)) mask_pixels += m;
            // The >= 0.5 mask can gain or lose a boundary row where an edge sits on a pixel's middle:
            // up to half the perimeter (at most 5.5 sqrt(area), for the star).
            EXPECT_NEAR(mask_pixels, area, 2.75 * std::sqrt(area)) << s.caption();
        }
    }
}

TEST(TinyScenes, ShapesHaveTheirAnalyticArea) {
    // Dense sampling of each outline against the closed-form area every size word relies on.
    for (const auto shape : all_shapes()) {
        const double r = 10;
        int inside = 0;
        const int n = 800;
        for (int y = 0; y < n; ++y)
            for (int x = 0; x < n; ++x)
                inside +=
                    shape_contains(shape, 0, 0, r, -20 + 40.0 * (x + 0.5) / n, -20 + 40.0 * (y + 0.5) / n);
        EXPECT_NEAR(inside * (40.0 / n) * (40.0 / n), shape_area(r), 0.005 * shape_area(r))
            << shape_word(shape, false);
    }
}

TEST(TinyScenes, RelationsHoldInTheLayout) {
    for (uint64_t i = 0; i < 200; ++i) {
        const auto s = sample_scene(5, i, Split::Train);
        for (const auto& a : s.objects)
            for (const auto& b : s.objects) {
                if (a.phrase != 0 || b.phrase != 1) continue;
                switch (s.relation) {
                case Relation::LeftOf:
                    EXPECT_LT(a.cx, b.cx) << s.caption();
                    break;
                case Relation::RightOf:
                    EXPECT_GT(a.cx, b.cx) << s.caption();
                    break;
                case Relation::Above:
                    EXPECT_LT(a.cy, b.cy) << s.caption();
                    break;
                case Relation::Below:
                    EXPECT_GT(a.cy, b.cy) << s.caption();
                    break;
                case Relation::None:
                    ADD_FAILURE() << "two phrases without a relation: " << s.caption();
                }
            }
    }
}

TEST(TinyScenes, CaptionsParseBackToTheScene) {
    for (uint64_t i = 0; i < 300; ++i) {
        const auto s = sample_scene(11, i, i % 2 ? Split::Train : Split::HeldOut);
        const auto p = parse_caption(s.caption());
        ASSERT_TRUE(p) << s.caption();
        EXPECT_EQ(p->words, s.words);
        EXPECT_EQ(p->background, s.background);
        EXPECT_EQ(p->relation, s.relation);
        EXPECT_EQ(p->background_word, s.background_word);
        ASSERT_EQ(p->phrases.size(), s.phrases.size());
        for (std::size_t g = 0; g < s.phrases.size(); ++g) {
            const auto &a = p->phrases[g], &b = s.phrases[g];
            EXPECT_EQ(a.shape, b.shape);
            EXPECT_EQ(a.color, b.color);
            EXPECT_EQ(a.count, b.count);
            EXPECT_EQ(a.noun_word, b.noun_word);
            EXPECT_EQ(a.color_word, b.color_word);
            EXPECT_EQ(a.size_word, b.size_word);
            EXPECT_EQ(a.size_said, b.size_said);
            if (b.size_said) {
                EXPECT_EQ(a.size, b.size);
            }
        }
        EXPECT_EQ(p->word_labels(), s.word_labels());
    }
    for (const char* bad : {"", "a red circle", "a red circle on a gray", "a circle on a gray background",
                            "a red circle left a blue square on a gray background",
                            "two red circle on a gray background", "a red circle on a gray background now",
                            "a red circle on a red background", "a  red circle on a gray background"})
        EXPECT_FALSE(parse_caption(bad)) << bad;
}

// The relation contrast's twin: the same caption naming another relation, every other word kept.
TEST(TinyScenes, ACaptionNamesAnotherRelationWithItsOtherWordsKept) {
    int checked = 0;
    for (uint64_t i = 0; checked < 40 && i < 400; ++i) {
        const auto s = sample_scene(3, i, Split::Train);
        if (s.relation == Relation::None) continue;
        for (const auto r : {Relation::LeftOf, Relation::RightOf, Relation::Above, Relation::Below}) {
            const auto twin = caption_with_relation(s, r);
            const auto parsed = parse_caption(twin);
            ASSERT_TRUE(parsed) << twin;
            EXPECT_EQ(parsed->relation, r) << twin;
            EXPECT_EQ(with_relation_words_removed(twin), with_relation_words_removed(s.caption())) << twin;
            if (r == s.relation) {
                EXPECT_EQ(twin, s.caption());
            }
            if (r == opposite(s.relation)) { // same words but the relation's, so same positions
                EXPECT_NE(twin, s.caption());
                EXPECT_EQ(parsed->words.size(), s.words.size()) << twin;
                EXPECT_EQ(parsed->phrases[1].noun_word, s.phrases[1].noun_word) << twin;
                EXPECT_EQ(opposite(r), s.relation);
            }
        }
        ++checked;
    }
    EXPECT_EQ(checked, 40);
    EXPECT_THROW(caption_with_relation(sample_scene(3, 0, Split::Train), Relation::None),
                 std::invalid_argument);
}

TEST(TinyScenes, TrainAndHeldOutCaptionsNeverMeet) {
    for (uint64_t i = 0; i < 300; ++i) {
        EXPECT_FALSE(is_held_out(sample_scene(1, i, Split::Train).caption()));
        EXPECT_TRUE(is_held_out(sample_scene(1, i, Split::HeldOut).caption()));
    }
}

// The grammar model_index.json declares (the prompt box's examples, the unknown-word warnings) describes the
// scenes' captions: every scene's caption is a sentence of it, every caption it makes is one the scenes
// parse, its words are the vocabulary's, and the committed asset declares what the exporter writes.
TEST(TinyScenes, TheDeclaredGrammarIsTheScenesCaptions) {
    const auto grammar = PromptGrammar::parse(prompt_grammar());
    for (uint64_t i = 0; i < 300; ++i) {
        const auto s = sample_scene(5, i, i % 2 ? Split::Train : Split::HeldOut);
        EXPECT_TRUE(grammar.accepts(s.words)) << s.caption();
    }
    for (uint64_t seed = 0; seed < 300; ++seed)
        EXPECT_TRUE(parse_caption(grammar.sample(seed))) << grammar.sample(seed);
    auto words = grammar_words();
    std::sort(words.begin(), words.end());
    EXPECT_EQ(grammar.words(), words);

    const auto guide = read_prompt_guide(ATTNSCOPE_TINY_MODEL, "the embedded model");
    ASSERT_TRUE(guide);
    EXPECT_EQ(guide->grammar.words(), words);
    const auto index =
        nlohmann::json::parse(read_file(std::string(ATTNSCOPE_TINY_MODEL) + "/model_index.json"));
    EXPECT_EQ(index.at("attnscope").at("prompt_grammar"), prompt_grammar());
}

TEST(TinyScenes, WordLabelsNameTheirObject) {
    const auto s = *parse_caption("two small red circles left of a blue star on a black background");
    const std::vector<int> expected = {1, 1, 1, 1, -1, -1, -1, 2, 2, -1, -1, 0, 0};
    EXPECT_EQ(s.word_labels(), expected);
}

TEST(TinyImageCheck, RecognisesGroundTruthAndRejectsWrongCaptions) {
    int ok = 0, n = 200, wrong_accepted = 0;
    for (uint64_t i = 0; i < static_cast<uint64_t>(n); ++i) {
        const auto s = sample_scene(9, i, Split::HeldOut);
        const auto rgb = render_scene(s).rgb;
        const auto c = check_image(rgb, s);
        ok += c.recognisable() && c.counts;
        // The same image judged against a caption with the first phrase's shape changed.
        auto other = s;
        other.phrases[0].shape =
            all_shapes()[(static_cast<int>(s.phrases[0].shape) + 1) % all_shapes().size()];
        wrong_accepted += check_image(rgb, other).recognisable();
    }
    std::printf("ground truth recognised: %d/%d; with a wrong shape in the caption: %d/%d\n", ok, n,
                wrong_accepted, n);
    EXPECT_GE(ok, n * 97 / 100);
    EXPECT_LE(wrong_accepted, n * 5 / 100);
    // A blank image of the background colour shows no object.
    const auto s = *parse_caption("a red circle on a gray background");
    std::vector<std::uint8_t> gray(kImageSize * kImageSize * 3, 128);
    EXPECT_FALSE(check_image(gray, s).recognisable());
}

TEST(TinyVocabulary, EveryGrammarWordIsOneToken) {
    const ClipTokenizer tok(kTokenizer);
    for (const auto& w : grammar_words()) EXPECT_EQ(tok.tokenize(w).size(), 1u) << w;
    for (uint64_t i = 0; i < 200; ++i) {
        const auto s = sample_scene(13, i, Split::Train);
        const auto e = tok.encode(s.caption());
        EXPECT_EQ(e.length, static_cast<int>(s.words.size()) + 2) << s.caption();
        EXPECT_EQ(e.ids.front(), tok.start_id());
        EXPECT_EQ(e.ids[e.length - 1], tok.end_id());
        EXPECT_EQ(e.ids.back(), tok.end_id()); // SD v1 pads with <|endoftext|>
        EXPECT_EQ(e.words, s.words);
    }
    EXPECT_LT(tok.vocab_size(), 1000u);
}

TEST(TinyVocabulary, CommittedFilesAreWhatTheBuilderMakes) {
    const auto v = build_vocabulary(grammar_words());
    EXPECT_EQ(read_file(kTokenizer + "/vocab.json"), v.vocab_json() + "\n");
    EXPECT_EQ(read_file(kTokenizer + "/merges.txt"), v.merges_txt());
}

} // namespace
} // namespace attnscope::tiny
