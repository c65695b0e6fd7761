# Thin helpers over MLIR's CMake functions.

# mhc_add_library(name sources... [DEPENDS targets...] [LINK_LIBS libs...])
# A static library of the compiler, linked against the MLIR and LLVM dylibs
# (never the static MLIR archives: mixing the two duplicates global state).
function(mhc_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_mlir_library(${name} ${ARG_UNPARSED_ARGUMENTS}
    EXCLUDE_FROM_LIBMLIR DISABLE_INSTALL
    DEPENDS ${ARG_DEPENDS})
  target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS} MLIR LLVM)
endfunction()
