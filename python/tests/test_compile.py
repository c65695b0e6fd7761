"""Compiling from Python in-process through the compiler's C API."""
import pytest

from mhc import compiler


def test_static_layer_to_ptx():
    result = compiler.compile(compiler.static_layer_module(4, 4096), "mhc-gpu-pipeline",
                              chip="sm_90")
    fmt, ptx = result.binaries["mhc_kernels"]
    assert fmt == "ptx"
    assert b".target sm_90" in ptx
    assert b".entry mhc_fused_n4_c4096_v4_wbf16_t256(" in ptx
    # 16 16-byte loads per row and thread, in two places: the block's first
    # row (before the prologue) and the next row (in the row loop).
    assert ptx.count(b"ld.global.v4.b32") == 32


def test_options_reach_the_pipeline():
    ir = compiler.static_layer_module(3, None, weight_dtype="f32", sinkhorn_init="softmax",
                                      orientation="transposed")
    fmt, ptx = compiler.compile(ir, "mhc-gpu-pipeline", chip="sm_80", vector_width=1,
                                threads_per_block=128).binaries["mhc_kernels"]
    assert b".target sm_80" in ptx
    assert b".entry mhc_fused_n3_cdyn_v1_wf32_t128(" in ptx


def test_cpu_pipeline_lowers_to_llvm():
    result = compiler.compile(compiler.static_layer_module(2, 37), "mhc-cpu-pipeline")
    assert "llvm.func @static_layer" in result.ir
    assert result.binaries == {}


def test_bad_ir_raises_with_the_mlir_message():
    with pytest.raises(compiler.CompileError) as e:
        compiler.compile("func.func @f( {", "mhc-gpu-pipeline")
    assert 'loc("input":1:' in e.value.diagnostics
    assert "error:" in e.value.diagnostics


def test_verifier_errors_surface():
    with pytest.raises(compiler.CompileError, match="requires 'eps' to be positive and finite"):
        compiler.compile(compiler.static_layer_module(4, 64, eps=0.0), "mhc-gpu-pipeline")


def test_unknown_pipeline_raises():
    with pytest.raises(compiler.CompileError, match="does not refer to a registered pass"):
        compiler.compile(compiler.static_layer_module(4, 64), "no-such-pipeline")


def test_bad_weight_dtype():
    with pytest.raises(ValueError):
        compiler.static_layer_module(4, 64, weight_dtype="f16")


def _example(name):
    import os
    return open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                             "examples", name)).read()


def test_linalg_from_a_front_end_reaches_the_same_kernel():
    # The layer as a front end writes it in linalg: the GPU pipeline raises
    # it to mhc ops first and emits the kernel of mhc.static_layer, byte for
    # byte.
    linalg = compiler.compile(_example("static_layer_linalg.mlir"), "mhc-gpu-pipeline")
    op = compiler.compile(compiler.static_layer_module(4, 4096), "mhc-gpu-pipeline")
    assert linalg.binaries["mhc_kernels"] == op.binaries["mhc_kernels"]


def test_raise_pipeline_gives_mhc_ops():
    ir = compiler.compile(_example("static_layer_linalg.mlir"), "mhc-raise-pipeline").ir
    for op in ("mhc.sinkhorn", "mhc.gate", "mhc.aggregate", "mhc.rms_norm", "mhc.mix"):
        assert op in ir
    assert "linalg." not in ir
