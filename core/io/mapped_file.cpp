#include "mapped_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace attnscope {
namespace {
std::runtime_error sys_error(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}
} // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw sys_error("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        throw sys_error("cannot stat", path);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw std::runtime_error("'" + path + "' is a folder, expected a file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            throw sys_error("cannot map", path);
        }
        data_ = static_cast<const unsigned char*>(p);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
    // The rename at the end would put a regular file in place of a device, a pipe or a socket (as root, of
    // /dev/null too), and fails only late on a folder.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw std::runtime_error("cannot write '" + path_ + "': it exists and is not a regular file" +
                                 (S_ISDIR(st.st_mode) ? " (a folder)" : ""));
    tmp_path_ = path_ + ".tmp-XXXXXX";
    fd_ = ::mkstemp(tmp_path_.data());
    if (fd_ < 0) throw sys_error("cannot create a temporary file next to", path_);
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicFileWriter::write(const void* bytes, std::size_t n) {
    const auto* p = static_cast<const char*>(bytes);
    while (n > 0) {
        const ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw sys_error("cannot write", path_);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void AtomicFileWriter::commit() {
    if (::fsync(fd_) != 0) throw sys_error("cannot flush", path_);
    ::fchmod(fd_, 0644);
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) throw sys_error("cannot rename into", path_);
    committed_ = true;
}

} // namespace attnscope
