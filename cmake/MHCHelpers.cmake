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

# mhc_pass_options(<pass def> <output .inc>)
# Writes the options of <pass def> of the current directory's Passes.td as a
# .inc that a pipeline includes to forward them (cmake/gen_pass_options.py),
# so they are declared once, in TableGen. Call it before
# add_public_tablegen_target, which then generates it too.
function(mhc_pass_options pass output)
  set(records ${CMAKE_CURRENT_BINARY_DIR}/${pass}.records.json)
  set(includes)
  foreach(dir ${MLIR_INCLUDE_DIRS})
    list(APPEND includes -I ${dir})
  endforeach()
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${output}
    COMMAND ${LLVM_TOOLS_BINARY_DIR}/llvm-tblgen --dump-json ${includes}
            ${CMAKE_CURRENT_SOURCE_DIR}/Passes.td -o ${records}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/gen_pass_options.py
            --records ${records} --pass ${pass}
            -o ${CMAKE_CURRENT_BINARY_DIR}/${output}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/Passes.td
            ${PROJECT_SOURCE_DIR}/cmake/gen_pass_options.py
    COMMENT "Writing the options of ${pass} for pipelines")
  set(TABLEGEN_OUTPUT ${TABLEGEN_OUTPUT} ${CMAKE_CURRENT_BINARY_DIR}/${output}
      PARENT_SCOPE)
endfunction()
