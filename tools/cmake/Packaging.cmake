# `cpack -G DEB` (tools/package.sh): attnscope_<version>_amd64.deb from the install rules (tools/cmake/Install.cmake).
# Its Depends are what dpkg-shlibdeps finds for the libraries the binary links (LibTorch, GLFW, GL/EGL, the C++
# runtime), plus the BLAS below. Built against a CUDA LibTorch the package is attnscope-cuda, and says so.
set(ATTNSCOPE_PACKAGE_CONTACT "attnscope maintainers <maintainers@users.noreply.b-seed-1467eb64.example>"
    CACHE STRING "the Maintainer of attnscope's Debian package")

if(ATTNSCOPE_TORCH_CUDA)
  set(CPACK_PACKAGE_NAME attnscope-cuda)
  set(torch_line "LibTorch ${Torch_VERSION} with CUDA")
  set(other_flavour attnscope)
else()
  set(CPACK_PACKAGE_NAME attnscope)
  set(torch_line "LibTorch ${Torch_VERSION} for the CPU")
  set(other_flavour attnscope-cuda)
endif()
if(ATTNSCOPE_HAVE_CUDA)
  set(kernels_line "Our CUDA attention kernels are compiled in; they run where LibTorch has CUDA.")
else()
  set(kernels_line "No CUDA kernels.")
endif()
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${ATTNSCOPE_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "attention visualizer for Stable Diffusion's U-Net")
# The long description, below the summary line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "attnscope runs a Stable Diffusion generation one denoising step at a time
and shows the attention maps of every site, head and step: a desktop visualizer (attnscope gui, in the
application menu) and a command line (attnscope generate, compare, edit, maps). A small model trained for
it is included, so it works without downloads.
Built with ${torch_line}. ${kernels_line}")
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # attnscope_0.1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A LibTorch outside the system's library folders (PyTorch's, on the GPU machine) is no Debian package:
# dpkg-shlibdeps reads it as a private library and lists no dependency for it; it must be on the target too.
if(NOT TORCH_INSTALL_PREFIX STREQUAL "/usr")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${TORCH_INSTALL_PREFIX}/lib)
endif()
# Debian's LibTorch reaches BLAS through libblas.so.3, which the reference BLAS would otherwise provide at a
# fraction of the speed; OpenBLAS registers itself as that alternative.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread")
# Both flavours install /usr/bin/attnscope.
set(CPACK_DEBIAN_PACKAGE_CONFLICTS ${other_flavour})
set(CPACK_DEBIAN_PACKAGE_REPLACES ${other_flavour})
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
include(CPack)
