// The embedded default model (assets/tiny-sd) as shipped: the project's loaders read it, it has SD v1's
// attention sites, its cross-attention finds the objects its held-out captions name, and what it draws is
// recognisably the caption. CPU only; sized to finish in well under a minute on two cores.
#include "attention_eval.h"
#include "capture/word_maps.h"
#include "image_check.h"
#include "io/image_file.h"
#include "io/png_file.h"
#include "model/lora.h"
#include "model/nn.h"
#include "model/unet_loader.h"
#include "sampler.h"
#include "session/session.h"
#include "test_util.h"
#include "tiny_model.h"
#include "util/cpu_threads.h"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <unistd.h>

namespace attnscope::tiny {
namespace {

const std::string kModel = ATTNSCOPE_TINY_MODEL;

struct TinyModel {
    UNet unet;
    ClipTextModel text;
    ClipTokenizer tokenizer;
};

const TinyModel& model() {
    static const TinyModel m = [] {
        configure_cpu_threads();
        return TinyModel{load_unet(open_unet_checkpoint(kModel), at::kFloat, at::kCPU),
                         ClipTextModel::load(kModel, at::kFloat, at::kCPU), ClipTokenizer(kModel)};
    }();
    return m;
}

TEST(TinyModel, LoadsWithTheProjectLoadersAndKeepsSdV1Sites) {
    const auto& m = model();
    const auto& c = m.unet.config();
    EXPECT_EQ(c.in_channels, 3);
    EXPECT_EQ(c.out_channels, 3);
    EXPECT_EQ(c.sample_size, kImageSize);
    EXPECT_EQ(c.prediction, Prediction::Epsilon);
    EXPECT_EQ(c.cross_attention_dim, m.text.config().hidden_size);
    EXPECT_EQ(m.text.config().vocab_size, static_cast<int>(m.tokenizer.vocab_size()));
    // The seed's table at 64x64 pixels: 16 sites, 8 heads, 77-token context, the same sequence lengths as
    // SD v1 at 512x512.
    const auto sites = m.unet.sites(2, kImageSize, kImageSize, ClipTokenizer::kContextLength);
    ASSERT_EQ(sites.size(), 32u);
    const std::map<int, int64_t> seq = {{1, 4096},  {2, 4096},  {3, 1024},  {4, 1024}, {5, 256},   {6, 256},
                                        {7, 64},    {8, 256},   {9, 256},   {10, 256}, {11, 1024}, {12, 1024},
                                        {13, 1024}, {14, 4096}, {15, 4096}, {16, 4096}};
    for (const auto& s : sites) {
        EXPECT_EQ(s.heads, 8);
        EXPECT_EQ(s.seq_q, seq.at(s.index)) << s.label();
        EXPECT_EQ(s.seq_k, s.kind == AttentionKind::Cross ? 77 : s.seq_q) << s.label();
    }
    std::uintmax_t bytes = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(kModel))
        if (e.is_regular_file()) bytes += e.file_size();
    EXPECT_LE(bytes, 30u << 20);
}

TEST(TinyModel, CrossAttentionFindsTheObjectsOfHeldOutCaptions) {
    const auto& m = model();
    std::vector<Scene> scenes;
    for (uint64_t i = 0; i < 3; ++i) scenes.push_back(sample_scene(1, i, Split::HeldOut));
    AttentionEvalOptions o;
    o.timesteps = {500};
    o.self_backend = "math";
    o.batch = 3;
    const auto r = evaluate_attention(m.unet, m.text, m.tokenizer, scenes, o);
    std::printf("%s\n", r.summary().c_str());
    for (const auto& s : r.objects)
        std::printf("  scene %d '%s': IoU %.3f, argmax %s\n", s.scene, s.word.c_str(), s.iou,
                    s.hit ? "on it" : "off");
    ASSERT_GE(r.objects.size(), 4u);
    EXPECT_GE(r.hit_rate, 0.8);
    // Issue 7's bar. The shipped recipe-r5 checkpoint reaches 0.80 here (0.86 on 45 objects on the device).
    EXPECT_GE(r.mean_iou, 0.5);
}

// attnscope image-maps' reading of a picture the model did not draw: held-out scenes rendered with exact
// masks, saved as PNG files and read back as a user's pictures, noised to the reading's default timesteps
// and draws; each object's noun map, thresholded as the model's own evaluation thresholds it, against the
// object's mask.
TEST(TinyModel, ReadsAPictureItDidNotDrawWordByWord) {
    configure_cpu_threads();
    const auto pipeline = load_pipeline(kModel, {});
    const auto dir =
        std::filesystem::temp_directory_path() / ("attnscope-reading-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    double iou_sum = 0;
    int objects = 0;
    for (uint64_t i = 0; i < 2; ++i) {
        const auto scene = sample_scene(1, i, Split::HeldOut);
        const auto drawn = render_scene(scene);
        const auto file = (dir / ("scene" + std::to_string(i) + ".png")).string();
        write_png(file, Image8{kImageSize, kImageSize, 3, drawn.rgb});
        GenerationSettings s;
        s.prompt = scene.caption();
        s.reading = ImageReading{std::make_shared<const Image8>(read_image(file)), file};
        Session session(pipeline, s);
        CaptureStore store;
        session.router().add_observer(&store);
        std::vector<int> steps;
        while (!session.done()) {
            steps.push_back(session.current_step());
            store.begin_step(session.current_step());
            session.step();
        }
        std::vector<int> cross;
        for (const auto& site : pipeline->unet.sites(2, 64, 64, ClipTokenizer::kContextLength))
            if (site.kind == AttentionKind::Cross) cross.push_back(site.index);
        const auto maps = word_maps(store, session.prompt_tokens(), cross, steps, kImageSize, kImageSize);
        for (size_t g = 0; g < scene.phrases.size(); ++g) {
            const int noun = scene.phrases[g].noun_word;
            const auto m =
                std::find_if(maps.begin(), maps.end(), [&](const WordMap& w) { return w.word == noun; });
            ASSERT_NE(m, maps.end()) << scene.caption();
            ASSERT_EQ(m->text, scene.words[static_cast<size_t>(noun)]);
            const auto score = score_map(m->map, drawn.mask(static_cast<int>(g) + 1), 0.4);
            std::printf("'%s' '%s': IoU %.3f, argmax %s\n", scene.caption().c_str(), m->text.c_str(),
                        score.iou, score.hit ? "on it" : "off");
            EXPECT_TRUE(score.hit) << m->text;
            iou_sum += score.iou;
            ++objects;
        }
    }
    test::remove_tree(dir);
    ASSERT_GE(objects, 3);
    // The shipped recipe-r6 model reaches a mean IoU of 0.89 on these three objects (0.86, 0.90, 0.92); issue
    // 22 asks for at least 0.5.
    EXPECT_GE(iou_sum / objects, 0.85);
}

// The LoRA made for the embedded model (assets/loras/tiny-circle-to-star.safetensors, written by
// tools/tiny/make_concept_lora): the product's reader puts it on every cross-attention key and value
// projection, and at scale 1 the keys and values "circle" gives every site move most of the way to what
// "star" gives them in the same caption, while another shape's stay.
TEST(TinyModel, ItsConceptLoraTurnsCirclesIntoStars) {
    configure_cpu_threads();
    auto unet = load_unet(open_unet_checkpoint(kModel), at::kFloat, at::kCPU);
    auto text = ClipTextModel::load(kModel, at::kFloat, at::kCPU);
    const ClipTokenizer tokenizer(kModel);
    const auto lora = read_lora(
        std::string(ATTNSCOPE_ASSETS_SOURCE) + "/loras/tiny-circle-to-star.safetensors", unet, text);
    EXPECT_EQ(lora.layers.size(), 32u);                   // to_k and to_v of the 16 sites' cross-attention
    const auto hidden = [&](const std::string& caption) { // position 3 is the shape word's token
        return text.forward(at::tensor(tokenizer.encode(caption).ids, at::kLong).unsqueeze(0))[0][3];
    };
    const auto circle = hidden("a red circle on a gray background"),
               star = hidden("a red star on a gray background"),
               square = hidden("a red square on a gray background");
    std::vector<std::string> layers;
    for (const auto& site : unet.sites(1, 8, 8, ClipTokenizer::kContextLength))
        if (site.kind == AttentionKind::Cross)
            for (const char* p : {".to_k", ".to_v"}) layers.push_back(site.module + p);
    const auto project = [&](const std::string& layer, const at::Tensor& h) {
        return nn::linear(unet.weights(), layer, h.unsqueeze(0))[0];
    };
    std::vector<at::Tensor> before_circle, before_square, star_keys;
    for (const auto& l : layers) {
        before_circle.push_back(project(l, circle));
        before_square.push_back(project(l, square));
        star_keys.push_back(project(l, star));
    }
    apply_lora(lora, unet, text, std::make_shared<std::atomic<double>>(1.0));
    double left = 0, square_moved = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto distance = [](const at::Tensor& a, const at::Tensor& b) {
            return (a - b).norm().item<double>();
        };
        left = std::max(left, distance(project(layers[i], circle), star_keys[i]) /
                                  distance(before_circle[i], star_keys[i]));
        square_moved = std::max(square_moved, distance(project(layers[i], square), before_square[i]) /
                                                  before_square[i].norm().item<double>());
    }
    std::printf("worst layer: circle keeps %.2f of its distance to star; square moved %.3f\n", left,
                square_moved);
    // As shipped: the worst layer keeps 0.25 of circle's distance to star (the tool reports 82% of the way
    // over all its captions) and moves square's by 9%.
    EXPECT_LT(left, 0.35) << "circle's keys and values still this far from star's";
    EXPECT_LT(square_moved, 0.12) << "square's keys and values moved";
}

TEST(TinyModel, DrawsItsHeldOutCaptions) {
    const auto& m = model();
    // The device's evaluation in small: its first held-out captions, DDIM 20 steps at guidance 4 (every 64x64
    // forward costs about a second on two cores, so two captions, not 32: two objects in a relation, and a
    // count of two).
    constexpr int kCaptions = 2;
    std::vector<Scene> scenes;
    std::vector<std::string> captions;
    for (uint64_t i = 0; i < kCaptions; ++i) {
        scenes.push_back(sample_scene(1, i, Split::HeldOut));
        captions.push_back(scenes.back().caption());
    }
    AttentionRouter router;
    const auto images = sample_images(m.unet, m.text, m.tokenizer, captions, router);
    int recognisable = 0, shapes = 0;
    for (int i = 0; i < kCaptions; ++i) {
        const auto c = check_image(to_rgb_bytes(images[i]), scenes[i]);
        std::printf("'%s': %s\n", captions[i].c_str(), c.describe().c_str());
        EXPECT_TRUE(c.background) << captions[i];
        EXPECT_TRUE(c.colors) << captions[i];
        recognisable += c.recognisable();
        shapes += c.shapes;
    }
    // What the shipped recipe-r6 model reaches on these captions on the CPU: every shape right, and the
    // second caption recognisable (the first draws a second star); docs/tiny-model.md: 20 of 32 recognisable
    // and 24 of 32 with the right shapes on the device. Recipe r5 got no shape right here.
    constexpr int kShapesFloor = 2, kRecognisableFloor = 1;
    EXPECT_GE(shapes, kShapesFloor);
    EXPECT_GE(recognisable, kRecognisableFloor);
}

} // namespace
} // namespace attnscope::tiny
