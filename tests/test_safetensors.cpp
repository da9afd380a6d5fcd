#include "io/safetensors_file.h"
#include "test_util.h"

#include <cstring>
#include <filesystem>
#include <sys/stat.h>

namespace attnscope {
namespace {

using test::TempDir;

// A header for hand-made files: the length prefix and the JSON exactly as given.
std::string raw_file(const std::string& json, const std::string& data) {
    std::string out(8, '\0');
    const uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + json + data;
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
    TempDir dir;
    TensorMap tensors{
        {"f32", at::randn({3, 5})},
        {"f16", at::randn({4}).to(at::kHalf)},
        {"bf16", at::randn({2, 2}).to(at::kBFloat16)},
        {"f64", at::randn({7}, at::kDouble)},
        {"i64", at::arange(6, at::kLong).reshape({2, 3})},
        {"u8", at::arange(5, at::kByte)},
        {"bool", at::tensor({1, 0, 1}).to(at::kBool)},
        {"scalar", at::tensor(2.5)},
        {"empty", at::empty({0, 3})},
        {"strided", at::randn({4, 6}).t()},
    };
    const std::string path = dir.file("t.safetensors");
    write_safetensors(path, tensors, {{"format", "pt"}, {"note", "ünïcode"}});

    const SafetensorsFile f(path);
    EXPECT_EQ(f.header().metadata.at("note"), "ünïcode");
    EXPECT_EQ(f.header().data_start % 8, 0u);
    EXPECT_EQ(f.names().size(), tensors.size());
    for (const auto& [name, t] : tensors) {
        const auto back = f.load(name);
        EXPECT_EQ(back.scalar_type(), t.scalar_type()) << name;
        EXPECT_EQ(back.sizes(), t.sizes()) << name;
        EXPECT_TRUE(at::equal(back, t.contiguous())) << name;
    }
    EXPECT_TRUE(at::equal(f.load("f16", at::kFloat), tensors["f16"].to(at::kFloat)));
}

TEST(Safetensors, WritesTheDocumentedByteLayout) {
    TempDir dir;
    const std::string path = dir.file("one.safetensors");
    write_safetensors(path, {{"x", at::tensor({1.0f, 2.0f})}});
    const std::string bytes = test::read_bytes(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    ASSERT_EQ(bytes.size(), 8 + n + 8);
    EXPECT_EQ(bytes.substr(8, n).find(R"("x":{"data_offsets":[0,8],"dtype":"F32","shape":[2]})"), 1u);
    // 1.0f and 2.0f little-endian IEEE 754.
    const unsigned char expected[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40};
    EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, expected, 8), 0);
}

TEST(Safetensors, ReadsAFileWrittenByHand) {
    TempDir dir;
    const std::string path = dir.file("hand.safetensors");
    std::string data(6, '\0');
    data[0] = 1;
    data[2] = 2;
    data[4] = 3; // three little-endian int16
    test::write_bytes(
        path,
        raw_file(R"({"__metadata__":{"a":"b"},"w":{"dtype":"I16","shape":[3],"data_offsets":[0,6]}})", data));
    const SafetensorsFile f(path);
    EXPECT_TRUE(at::equal(f.load("w"), at::tensor({1, 2, 3}, at::kShort)));
}

struct BadFile {
    const char* what;
    std::string bytes;
    const char* message;
};

void PrintTo(const BadFile& b, std::ostream* os) {
    *os << b.what;
}

class SafetensorsBadFile : public ::testing::TestWithParam<BadFile> {};

TEST_P(SafetensorsBadFile, IsRejectedWithAClearMessage) {
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    test::write_bytes(path, GetParam().bytes);
    try {
        SafetensorsFile f(path);
        FAIL() << GetParam().what << ": accepted";
    } catch (const FormatError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find(GetParam().message), std::string::npos) << msg;
    }
}

const std::string kF32x2 = std::string(8, '\0');

INSTANTIATE_TEST_SUITE_P(
    Cases, SafetensorsBadFile,
    ::testing::Values(
        BadFile{"empty", "", "too short"}, BadFile{"five bytes", "abcde", "too short"},
        BadFile{"header past the end", raw_file("{}", "").substr(0, 8) + "{", "runs past the end"},
        BadFile{"huge header length", std::string("\xff\xff\xff\xff\xff\xff\x00\x00", 8) + "{}",
                "larger than"},
        BadFile{"malformed json", raw_file(R"({"w": {"dtype": )", ""), "malformed JSON"},
        BadFile{"json array", raw_file("[1,2]", ""), "not an object"},
        BadFile{"missing dtype", raw_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", kF32x2),
                "'w' has no \"dtype\""},
        BadFile{"unknown dtype", raw_file(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", kF32x2),
                "unknown dtype \"Q4\""},
        BadFile{"negative dim",
                raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kF32x2),
                "is not a size"},
        BadFile{"offsets past data",
                raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kF32x2), "truncated"},
        BadFile{"reversed offsets",
                raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", kF32x2),
                "end before they begin"},
        BadFile{"size mismatch",
                raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kF32x2), "expected 12"},
        BadFile{
            "overlap",
            raw_file(
                R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                kF32x2),
            "overlap"},
        BadFile{"bad metadata", raw_file(R"({"__metadata__":{"k":1}})", ""), "'k' is not a string"}),
    [](const auto& info) {
        std::string n = info.param.what;
        for (auto& c : n)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return n;
    });

TEST(Safetensors, EveryTruncationOfARealFileIsAnErrorNotACrash) {
    TempDir dir;
    const std::string good = dir.file("good.safetensors");
    write_safetensors(good, {{"a", at::randn({16})}, {"b", at::randn({3, 3}).to(at::kHalf)}});
    const std::string bytes = test::read_bytes(good);
    int rejected = 0;
    for (std::size_t cut = 0; cut < bytes.size(); cut += 3) {
        const std::string path = dir.file("cut.safetensors");
        test::write_bytes(path, bytes.substr(0, cut));
        try {
            SafetensorsFile f(path);
        } catch (const FormatError&) {
            ++rejected;
        }
    }
    EXPECT_EQ(rejected, static_cast<int>((bytes.size() + 2) / 3));
}

TEST(Safetensors, MissingFileAndMissingTensorAreNamed) {
    ATTNSCOPE_EXPECT_THROW_WITH(SafetensorsFile("/nonexistent/x.safetensors"), std::runtime_error,
                                "/nonexistent/x.safetensors");
    TempDir dir;
    write_safetensors(dir.file("a.safetensors"), {{"a", at::zeros({1})}});
    const SafetensorsFile f(dir.file("a.safetensors"));
    ATTNSCOPE_EXPECT_THROW_WITH(f.load("nope"), FormatError, "no tensor 'nope'");
}

TEST(Safetensors, AtomicWriteLeavesNoPartialFileOnFailure) {
    TempDir dir;
    const std::string path = dir.file("x.safetensors");
    EXPECT_THROW(write_safetensors(path, {{"c", at::randn({2}, at::kComplexFloat)}}), std::invalid_argument);
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Safetensors, AtomicWriteNeverReplacesWhatIsNotARegularFile) {
    TempDir dir;
    const std::string fifo = dir.file("pipe");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    ATTNSCOPE_EXPECT_THROW_WITH(write_safetensors(fifo, {{"a", at::zeros({2})}}), std::runtime_error,
                                "cannot write '" + fifo + "': it exists and is not a regular file");
    EXPECT_TRUE(std::filesystem::is_fifo(fifo));
    ATTNSCOPE_EXPECT_THROW_WITH(write_safetensors(dir.path().string(), {{"a", at::zeros({2})}}),
                                std::runtime_error, "is not a regular file (a folder)");
    const std::string file = dir.file("a.safetensors");
    write_safetensors(file, {{"a", at::zeros({2})}});
    write_safetensors(file, {{"a", at::ones({3})}}); // an existing file is replaced
    EXPECT_EQ(SafetensorsFile(file).load("a").numel(), 3);
}

} // namespace
} // namespace attnscope
