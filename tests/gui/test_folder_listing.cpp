// The model picker's view of a folder (app/gui/folder_listing): what it lists, in which order, and where it
// starts browsing.
#include "gui/folder_listing.h"
#include "test_util.h"

#include <fstream>
#include <gtest/gtest.h>

namespace attnscope::gui {
namespace {

namespace fs = std::filesystem;

TEST(FolderListing, FoldersFirstThenModelFilesByName) {
    const test::TempDir dir;
    const fs::path root = dir.file("models");
    fs::create_directories(root / "sd15" / "unet");
    fs::create_directories(root / ".cache");
    fs::create_directories(root / "aaa");
    for (const char* f : {"v1-5.safetensors", "old.CKPT", "notes.txt", ".hidden.safetensors", "b.bin"})
        std::ofstream(root / f) << "x";
    const auto l = list_folder(root);
    EXPECT_TRUE(l.error.empty()) << l.error;
    EXPECT_EQ(l.folder, fs::canonical(root));
    std::vector<std::pair<std::string, bool>> got;
    for (const auto& e : l.entries) got.emplace_back(e.name, e.folder);
    const std::vector<std::pair<std::string, bool>> want = {
        {"aaa", true}, {"sd15", true}, {"b.bin", false}, {"old.CKPT", false}, {"v1-5.safetensors", false}};
    EXPECT_EQ(got, want);
}

TEST(FolderListing, AMissingFolderIsAnErrorNamingIt) {
    const test::TempDir dir;
    const auto l = list_folder(dir.file("nowhere"));
    EXPECT_TRUE(l.entries.empty());
    EXPECT_NE(l.error.find("nowhere"), std::string::npos) << l.error;
}

TEST(FolderListing, BrowsingStartsAtTheNearestFolder) {
    const test::TempDir dir;
    const fs::path root = dir.file("m");
    fs::create_directories(root / "unet");
    std::ofstream(root / "unet" / "w.safetensors") << "x";
    EXPECT_EQ(folder_to_browse((root / "unet").string()), root / "unet");
    EXPECT_EQ(folder_to_browse((root / "unet" / "w.safetensors").string()), root / "unet");
    EXPECT_EQ(folder_to_browse((root / "gone" / "deeper" / "x.safetensors").string()), root);
    EXPECT_EQ(folder_to_browse(""), fs::current_path());
}

} // namespace
} // namespace attnscope::gui
