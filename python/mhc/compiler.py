"""Compile mhc IR from Python, in-process, through the compiler's C API
(include/mhc-c/Compiler.h, libmhc_compiler.so).

    ir = static_layer_module(streams=4, channels=4096)
    result = compile(ir, "mhc-gpu-pipeline", chip="sm_90")
    ptx = result.binaries["mhc_kernels"][1]        # (format, bytes)

Bad IR or a bad pipeline raises CompileError carrying the MLIR diagnostics.
"""
import ctypes
from dataclasses import dataclass, field

from . import _loader, ir


class CompileError(RuntimeError):
    """The compilation failed; `diagnostics` holds MLIR's messages."""

    def __init__(self, diagnostics):
        self.diagnostics = diagnostics
        super().__init__("mhc compilation failed:\n" + diagnostics)


@dataclass
class CompileResult:
    ir: str
    diagnostics: str
    binaries: dict = field(default_factory=dict)  # name -> (format, bytes)


_lib = None


def library():
    """The loaded compiler library (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    lib = _loader.load("MHC_COMPILER_LIBRARY", "libmhc_compiler.so")
    res = ctypes.c_void_p
    lib.mhc_compile.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.POINTER(res)]
    lib.mhc_compile.restype = ctypes.c_int
    for name in ("mhc_compile_result_ir", "mhc_compile_result_diagnostics"):
        getattr(lib, name).argtypes = [res]
        getattr(lib, name).restype = ctypes.c_char_p
    lib.mhc_compile_result_num_binaries.argtypes = [res]
    lib.mhc_compile_result_num_binaries.restype = ctypes.c_size_t
    for name in ("mhc_compile_result_binary_name", "mhc_compile_result_binary_format"):
        getattr(lib, name).argtypes = [res, ctypes.c_size_t]
        getattr(lib, name).restype = ctypes.c_char_p
    lib.mhc_compile_result_binary.argtypes = [res, ctypes.c_size_t,
                                              ctypes.POINTER(ctypes.c_size_t)]
    lib.mhc_compile_result_binary.restype = ctypes.c_void_p
    lib.mhc_compile_result_destroy.argtypes = [res]
    lib.mhc_compile_result_destroy.restype = None
    _lib = lib
    return lib


def _option(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def compile(ir, pipeline="mhc-gpu-pipeline", **options):
    """Runs a named pipeline (or any pass) of mhc-opt on `ir` (text).
    Keyword arguments are the pipeline's options, with '_' for '-'
    (e.g. chip="sm_80", threads_per_block=128, format="bin")."""
    opts = " ".join(f"{k.replace('_', '-')}={_option(v)}" for k, v in options.items())
    spec = f"builtin.module({pipeline}{{{opts}}})" if opts else f"builtin.module({pipeline})"
    lib = library()
    data = ir.encode()
    handle = ctypes.c_void_p()
    status = lib.mhc_compile(data, len(data), spec.encode(), ctypes.byref(handle))
    try:
        diagnostics = lib.mhc_compile_result_diagnostics(handle).decode()
        if status != 0:
            raise CompileError(diagnostics)
        result = CompileResult(lib.mhc_compile_result_ir(handle).decode(), diagnostics)
        for i in range(lib.mhc_compile_result_num_binaries(handle)):
            size = ctypes.c_size_t()
            ptr = lib.mhc_compile_result_binary(handle, i, ctypes.byref(size))
            name = lib.mhc_compile_result_binary_name(handle, i).decode()
            fmt = lib.mhc_compile_result_binary_format(handle, i).decode()
            result.binaries[name] = (fmt, ctypes.string_at(ptr, size.value))
        return result
    finally:
        lib.mhc_compile_result_destroy(handle)


def static_layer_module(streams, channels=None, weight_dtype="bf16", eps=1e-6,
                        sinkhorn_iters=20, sinkhorn_init="exp", sinkhorn_eps=1e-6,
                        pre_eps=0.0, orientation="direct", name="static_layer"):
    """The IR of one mhc.static_layer function (mhc.ir); `channels=None` is
    dynamic C."""
    return ir.static_layer_function(
        name, streams, channels, weight_dtype, eps=eps,
        sinkhorn_iters=sinkhorn_iters, sinkhorn_init=sinkhorn_init,
        sinkhorn_eps=sinkhorn_eps, pre_eps=pre_eps, orientation=orientation)
