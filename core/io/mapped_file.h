#pragma once
#include <cstddef>
#include <string>

namespace attnscope {

// A read-only memory mapping of a whole file; weights are read through it so a checkpoint is never
// copied into RAM as a whole.
class MappedFile {
  public:
    explicit MappedFile(const std::string& path); // throws std::runtime_error naming the path
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const unsigned char* data() const { return data_; }
    std::size_t size() const { return size_; }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

// Writes bytes to `path` through a temporary file in the same folder and a rename, so a failed or
// interrupted write never leaves a partial file under the final name.
class AtomicFileWriter {
  public:
    explicit AtomicFileWriter(std::string path);
    ~AtomicFileWriter(); // removes the temporary file unless commit() succeeded
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* bytes, std::size_t n);
    void commit();

  private:
    std::string path_, tmp_path_;
    int fd_ = -1;
    bool committed_ = false;
};

} // namespace attnscope
