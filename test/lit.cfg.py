# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "MHC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "lib"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mhc_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%mhc_src_root", config.mhc_src_root))
config.substitutions.append(("%llvm_lib_dir", config.llvm_lib_dir))
config.substitutions.append(("%mhc_lib_dir", os.path.join(config.mhc_obj_root, "lib")))
runner_libs = ",".join([
        os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils.so"),
        os.path.join(config.llvm_lib_dir, "libmlir_runner_utils.so"),
        os.path.join(config.mhc_obj_root, "lib", "libmhc_runner_support.so"),
    ])
# A sanitizer build (MHC_SANITIZE): any report fails the test; mlir-runner,
# which is not instrumented, loads the instrumented runner support through
# the preloaded ASan runtime.
runner = "mlir-runner"
if config.mhc_asan_runtime:
    config.environment["ASAN_OPTIONS"] = (
        config.mhc_asan_options + ":detect_leaks=1")
    config.environment["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    runner = "env LD_PRELOAD=%s ASAN_OPTIONS=%s:detect_leaks=0 mlir-runner" % (
        config.mhc_asan_runtime, config.mhc_asan_options)
    config.available_features.add("sanitizers")
# Lowers a program with the CPU pipeline and runs its main under mlir-runner.
config.substitutions.append((
    "%mhc_cpu_run",
    "mhc-opt --mhc-cpu-pipeline | " + runner + " -e main "
    "-entry-point-result=void -shared-libs=" + runner_libs))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.mhc_tools_dir, append_path=True)

tool_dirs = [config.mhc_tools_dir, config.llvm_tools_dir]
tools = ["mhc-opt", "mlir-runner", ToolSubst("%python", config.python_executable)]
llvm_config.add_tool_substitutions(tools, tool_dirs)

if config.ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))
