# Thin helpers over MLIR's CMake functions.

# mhc_add_library(name sources... [DEPENDS targets...] [LINK_LIBS libs...])
# A static library of the compiler, linked against the MLIR and LLVM dylibs
# (never the static MLIR archives: mixing the two duplicates global state).
# It is installed and exported as MHC::<name> (cmake/MHCPackage.cmake).
function(mhc_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_mlir_library(${name} ${ARG_UNPARSED_ARGUMENTS}
    EXCLUDE_FROM_LIBMLIR DISABLE_INSTALL
    DEPENDS ${ARG_DEPENDS})
  target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS} MLIR LLVM)
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  install(TARGETS ${name} EXPORT MHCTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mhc-dev)
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

# mhc_configure_sanitizers()
# MHC_SANITIZE=ON: every target of mhc is built with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang; any UB report fails the program). The
# executables use the shared ASan runtime, so libraries loaded into programs
# that are not instrumented (python3, mlir-runner) can use it through
# LD_PRELOAD=${MHC_ASAN_RUNTIME}. Every program run under the sanitizers gets
# MHC_ASAN_OPTIONS: allow_user_poisoning=0 because LLVM's headers, compiled
# with ASan in mhc's code, poison the slabs of a BumpPtrAllocator that the
# uninstrumented libMLIR then allocates from (a false use-after-poison).
# MHC_ENABLE_FUZZERS=ON: the libFuzzer targets
# (tools/mhc-fuzz) are built too.
function(mhc_configure_sanitizers)
  if((MHC_SANITIZE OR MHC_ENABLE_FUZZERS) AND
     NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MHC_SANITIZE and MHC_ENABLE_FUZZERS need clang "
      "(-DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_C_COMPILER=clang-22)")
  endif()
  if(MHC_ENABLE_FUZZERS)
    # Coverage feedback from all of mhc's code, not only the targets'.
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
  if(NOT MHC_SANITIZE)
    set(MHC_ASAN_RUNTIME "" PARENT_SCOPE)
    set(MHC_ASAN_OPTIONS "" PARENT_SCOPE)
    return()
  endif()
  execute_process(
    COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libclang_rt.asan-x86_64.so
    OUTPUT_VARIABLE runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT EXISTS "${runtime}")
    message(FATAL_ERROR "no shared ASan runtime next to ${CMAKE_CXX_COMPILER} "
      "(apt-get install libclang-rt-22-dev)")
  endif()
  get_filename_component(runtime_dir ${runtime} DIRECTORY)
  # vptr needs RTTI, which LLVM's flags turn off.
  set(flags -fsanitize=address,undefined -fno-sanitize=vptr
      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${flags})
  add_link_options(${flags} -shared-libasan "-Wl,-rpath,${runtime_dir}")
  set(MHC_ASAN_RUNTIME ${runtime} PARENT_SCOPE)
  set(MHC_ASAN_OPTIONS "allow_user_poisoning=0:halt_on_error=1" PARENT_SCOPE)
  message(STATUS "Sanitizers: ASan + UBSan (runtime ${runtime})")
endfunction()
