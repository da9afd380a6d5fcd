# `cmake --install build --prefix PREFIX`: the program, its bundled files, a desktop entry with icons, the docs.
# The program finds its files at ../share/attnscope from its own path (core/util/assets.cpp), so these two
# places are fixed, not GNUInstallDirs' (which a distribution may move): a prefix copied elsewhere keeps working.
install(TARGETS attnscope RUNTIME DESTINATION bin)
# Installing and packaging need the program alone; without this they would first build every test and
# benchmark (tools/package.sh builds the program itself).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
# A LibTorch outside the system's folders (PyTorch's) stays found from the installed copy; none is added for
# Debian's.
set_target_properties(attnscope PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
# Everything in assets/ is read at run time; the GLSL in shaders/ is compiled into the program (app/CMakeLists.txt).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/assets/ DESTINATION share/attnscope PATTERN desktop EXCLUDE)

# The application menu (XDG): the entry, and the icon tools/make_icon.py drew at each hicolor size.
install(FILES ${PROJECT_SOURCE_DIR}/assets/desktop/attnscope.desktop DESTINATION share/applications)
foreach(size 16 22 24 32 48 64 128 256)
  install(FILES ${PROJECT_SOURCE_DIR}/assets/desktop/icons/attnscope-${size}.png
          DESTINATION share/icons/hicolor/${size}x${size}/apps RENAME attnscope.png)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/assets/desktop/icons/attnscope.svg DESTINATION share/icons/hicolor/scalable/apps)

# README.md beside docs/, as in the repository, so its links to docs/*.md and the screenshots resolve.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/attnscope)
file(GLOB doc_pages ${PROJECT_SOURCE_DIR}/docs/*.md ${PROJECT_SOURCE_DIR}/docs/*.png)
install(FILES ${doc_pages} DESTINATION share/doc/attnscope/docs)
