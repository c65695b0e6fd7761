"""Tests of the plan API and the PyTorch op with torch tensors. Skipped
without torch; the GPU tests also without a CUDA device, and the
torch.compile tests on a torch without custom_op (before 2.4). The CPU
tests run on every torch mhc supports (Debian's 1.13 in CI, 2.11 on the GPU
machine).

Run: PYTHONPATH=build/python python3 -m pytest python/tests
"""
import itertools
import math

import pytest

import mhc

torch = pytest.importorskip("torch")
from mhc import reference  # noqa: E402  (needs torch)


def gpu_available():
    return torch.cuda.is_available()


needs_gpu = pytest.mark.skipif(not gpu_available(), reason="no CUDA device")


def compile_supported():
    import mhc.torch_ops as ops
    return ops.COMPILE_SUPPORTED


needs_compile = pytest.mark.skipif(
    not compile_supported(),
    reason=f"torch.compile of the op needs torch >= 2.4 (custom_op with a fake "
           f"implementation); this is torch {torch.__version__}")


def inputs(b, n, c, device, weight_dtype=torch.bfloat16, seed=0):
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(b, n, c, generator=g)
    h_res, h_pre, h_post = (torch.randn(n, n, generator=g), torch.randn(n, generator=g),
                            torch.randn(n, generator=g))
    w = (torch.rand(c, generator=g) + 0.5).to(weight_dtype)
    return [t.to(device) for t in (x, h_res, h_pre, h_post, w)]


def float64_reference(x, h_res, h_pre, h_post, w, **kw):
    return reference.static_layer(x.double().cpu(), h_res.double().cpu(), h_pre.double().cpu(),
                                  h_post.double().cpu(), w.double().cpu(), **kw)


def rel_err(out, ref):
    return ((out.double().cpu() - ref).abs().max() / max(1.0, ref.abs().max().item())).item()


def test_cpu_fallback_matches_float64():
    import mhc.torch_ops  # noqa: F401
    x, hr, hp, hq, w = inputs(3, 4, 37, "cpu")
    out = torch.ops.mhc.static_layer(x, hr, hp, hq, w, sinkhorn_init="softmax",
                                     orientation="transposed", pre_eps=1e-6)
    ref = float64_reference(x, hr, hp, hq, w, sinkhorn_init="softmax",
                            orientation="transposed", pre_eps=1e-6)
    assert rel_err(out, ref) < 1e-5


def loop_reference(x, h_res, h_pre, h_post, w, eps=1e-6, sinkhorn_iters=20,
                   sinkhorn_init="exp", sinkhorn_eps=1e-6, pre_eps=0.0,
                   orientation="direct"):
    """The layer of mhc-spec.md in Python floats, element by element: an
    oracle independent of reference.py's tensor formulation."""
    x, h, hp, hq, w = (t.double().tolist() for t in (x, h_res, h_pre, h_post, w))
    b_, n, c = len(x), len(h), len(w)
    m = [[math.exp(h[i][j] - max(h[i])) for j in range(n)] for i in range(n)]
    add = sinkhorn_eps if sinkhorn_init == "softmax" else 0.0

    def rows(a):
        for i in range(n):
            s_ = sum(m[i]) + a
            m[i] = [v / s_ if s_ > 0 else v for v in m[i]]

    def cols(a):
        for j in range(n):
            s_ = sum(m[i][j] for i in range(n)) + a
            for i in range(n):
                m[i][j] = m[i][j] / s_ if s_ > 0 else m[i][j]

    rows(0.0)
    if sinkhorn_init == "softmax":
        m = [[v + sinkhorn_eps for v in r] for r in m]
    cols(add)
    for _ in range(sinkhorn_iters - 1):
        rows(add)
        cols(add)
    mix = m if orientation == "direct" else [list(r) for r in zip(*m)]
    sig = [1 / (1 + math.exp(-v)) for v in hp]
    s_pre = [v + pre_eps for v in sig]
    s_post = [2 / (1 + math.exp(-v)) for v in hq]
    out = []
    for b in range(b_):
        y = [sum(s_pre[i] * x[b][i][k] for i in range(n)) for k in range(c)]
        r = 1 / math.sqrt(sum(v * v for v in y) / c + eps)
        out.append([[sum(mix[i][j] * x[b][j][k] for j in range(n))
                     + s_post[i] * y[k] * r * w[k] for k in range(c)]
                    for i in range(n)])
    return torch.tensor(out, dtype=torch.float64)


CONVENTIONS = [dict(), dict(sinkhorn_init="softmax", orientation="transposed", pre_eps=1e-6),
               dict(sinkhorn_iters=3, eps=1e-3)]


@pytest.mark.parametrize("conventions", CONVENTIONS)
@pytest.mark.parametrize("b,n,c", [(1, 1, 1), (2, 3, 5), (3, 4, 37)])
def test_reference_formulation_matches_the_loops(b, n, c, conventions):
    x, hr, hp, hq, w = inputs(b, n, c, "cpu", weight_dtype=torch.float32, seed=b + n + c)
    ref = float64_reference(x, hr, hp, hq, w, **conventions)
    assert rel_err(ref, loop_reference(x, hr, hp, hq, w, **conventions)) < 1e-12


def loop_dynamic_reference(x, phi, alpha, bias, w, coefficient_eps=1e-6, **conventions):
    """The dynamic layer element by element: each token's logits
    alpha * (x_b @ phi) * r_b + bias by loops, then that token through
    loop_reference as a static layer with those logits (f32 activations)."""
    b_, n, c = x.shape
    m = n * n + 2 * n
    out = []
    for b in range(b_):
        xf = x[b].double().reshape(-1).tolist()
        r = 1 / math.sqrt(sum(v * v for v in xf) / len(xf) + coefficient_eps)
        mix = [sum(xf[k] * phi[k, j].item() for k in range(len(xf))) * r for j in range(m)]
        scale = [alpha[0].item()] * n + [alpha[1].item()] * n + [alpha[2].item()] * (n * n)
        logits = torch.tensor([scale[j] * mix[j] + bias[j].item() for j in range(m)],
                              dtype=torch.float64)
        out.append(loop_reference(x[b:b + 1], logits[2 * n:].reshape(n, n), logits[:n],
                                  logits[n:2 * n], w, **conventions)[0])
    return torch.stack(out)


def dynamic_inputs(b, n, c, seed=0):
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(b, n, c, generator=g)
    phi = (torch.rand(n * c, n * n + 2 * n, generator=g) - 0.5) * 0.2
    alpha = torch.tensor([0.5, 0.7, 0.9])
    bias = torch.randn(n * n + 2 * n, generator=g)
    w = torch.rand(c, generator=g) + 0.5
    return x, phi, alpha, bias, w


@pytest.mark.parametrize("conventions", CONVENTIONS)
@pytest.mark.parametrize("b,n,c", [(1, 1, 1), (3, 2, 5), (2, 4, 3)])
def test_dynamic_reference_matches_the_loops(b, n, c, conventions):
    x, phi, alpha, bias, w = dynamic_inputs(b, n, c, seed=b * n + c)
    ref = reference.dynamic_layer(x.double(), phi, alpha, bias, w, dtype=torch.float64,
                                  **conventions)
    assert rel_err(ref, loop_dynamic_reference(x, phi, alpha, bias, w, **conventions)) < 1e-12


def test_dynamic_reference_with_alpha_zero_is_the_static_layer():
    x, phi, alpha, bias, w = dynamic_inputs(3, 4, 37)
    n = 4
    dynamic = reference.dynamic_layer(x.double(), phi, torch.zeros(3), bias, w,
                                      dtype=torch.float64, sinkhorn_init="softmax")
    static = reference.static_layer(x.double(), bias[2 * n:].reshape(n, n).double(),
                                    bias[:n].double(), bias[n:2 * n].double(), w.double(),
                                    sinkhorn_init="softmax")
    assert rel_err(dynamic, static) < 1e-14


@pytest.mark.parametrize("conventions", CONVENTIONS)
@pytest.mark.parametrize("b,n,c,weight", [
    (1, 1, 3, torch.bfloat16), (5, 2, 5, torch.float32), (4, 4, 1281, torch.bfloat16),
    (3, 8, 64, torch.float32), (2, 16, 100, torch.bfloat16)])
def test_cpu_op_matches_float64(b, n, c, weight, conventions):
    import mhc.torch_ops  # noqa: F401
    x, hr, hp, hq, w = inputs(b, n, c, "cpu", weight_dtype=weight, seed=7 * n + c)
    out = torch.ops.mhc.static_layer(x, hr, hp, hq, w, **conventions)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert rel_err(out, float64_reference(x, hr, hp, hq, w, **conventions)) < 1e-5


def test_cpu_op_keeps_a_nan_in_its_token():
    import mhc.torch_ops  # noqa: F401
    x, hr, hp, hq, w = inputs(3, 4, 64, "cpu")
    x[1, 2, 5] = float("nan")
    out = torch.ops.mhc.static_layer(x, hr, hp, hq, w)
    assert torch.isnan(out[1]).any()
    assert torch.isfinite(out[0]).all() and torch.isfinite(out[2]).all()


def test_cpu_op_rejects_what_it_cannot_compute():
    import mhc.torch_ops  # noqa: F401
    x, hr, hp, hq, w = inputs(2, 4, 64, "cpu")
    with pytest.raises(Exception, match="x must be a \\[B, n, C\\] float32 tensor"):
        torch.ops.mhc.static_layer(x.double(), hr, hp, hq, w)
    with pytest.raises(Exception, match="weight must be bfloat16 or float32"):
        torch.ops.mhc.static_layer(x, hr, hp, hq, w.half())


def test_registration_follows_the_torch_version():
    import mhc.torch_ops as ops
    version = tuple(int(v) for v in torch.__version__.split(".")[:2])
    if version >= (2, 4):
        assert ops.REGISTRATION == "custom_op" and ops.COMPILE_SUPPORTED
    else:
        assert ops.REGISTRATION in ("library", "library+fake")
    assert ops.static_layer is not None and hasattr(torch.ops.mhc, "static_layer")
    # The schema's defaults are the layer's: exp init, 20 rounds, direct.
    x, hr, hp, hq, w = inputs(2, 4, 8, "cpu")
    assert torch.equal(torch.ops.mhc.static_layer(x, hr, hp, hq, w),
                       torch.ops.mhc.static_layer(x, hr, hp, hq, w, 1e-6, 20, "exp",
                                                  1e-6, 0.0, "direct"))


@needs_compile
def test_cpu_op_under_compile_fullgraph():
    import mhc.torch_ops  # noqa: F401
    x, hr, hp, hq, w = inputs(3, 4, 37, "cpu")

    def layer(x, hr, hp, hq, w):
        return torch.ops.mhc.static_layer(x, hr, hp, hq, w, sinkhorn_init="softmax") + 1.0

    out = torch.compile(layer, fullgraph=True, backend="aot_eager")(x, hr, hp, hq, w)
    ref = float64_reference(x, hr, hp, hq, w, sinkhorn_init="softmax") + 1.0
    assert rel_err(out, ref) < 1e-5


@needs_gpu
@pytest.mark.parametrize("b,n,c", [(1, 4, 7168), (7, 3, 37), (64, 8, 4096), (5, 16, 1000)])
def test_plan_matches_float64(b, n, c):
    x, hr, hp, hq, w = inputs(b, n, c, "cuda")
    plan = mhc.HyperConnectionPlan(mhc.Descriptor(streams=n, channels=c))
    assert plan.workspace_size() == 16 * -(-(6 + 2 * n * n) * 4 // 16)
    out = torch.full_like(x, float("nan"))
    plan.run(x, hr, hp, hq, w, out)
    torch.cuda.synchronize()
    assert rel_err(out, float64_reference(x, hr, hp, hq, w)) < 1e-5


@needs_gpu
def test_plan_errors_carry_the_runtime_reason():
    x, hr, hp, hq, w = inputs(4, 4, 64, "cuda")
    plan = mhc.HyperConnectionPlan(mhc.Descriptor(streams=4, channels=64, max_batch=2))
    with pytest.raises(mhc.MhcError, match="exceeds the descriptor's maxBatch 2"):
        plan.run(x, hr, hp, hq, w, torch.empty_like(x))
    with pytest.raises(mhc.MhcError, match="in-place is not supported"):
        plan.run(x[:2], hr, hp, hq, w, x[:2])


@needs_gpu
@needs_compile
def test_torch_op_under_compile_fullgraph_and_plan_cache():
    import mhc.torch_ops as ops
    x, hr, hp, hq, w = inputs(16, 4, 1280, "cuda")

    def layer(x, hr, hp, hq, w):
        return torch.ops.mhc.static_layer(x, hr, hp, hq, w) * 1.0

    ops.plan_cache().clear()
    compiled = torch.compile(layer, fullgraph=True)
    out1 = compiled(x, hr, hp, hq, w)
    out2 = compiled(x, hr, hp, hq, w)
    torch.cuda.synchronize()
    assert len(ops.plan_cache()) == 1, "repeated calls must reuse the plan"
    assert torch.equal(out1, out2)
    assert rel_err(out1, float64_reference(x, hr, hp, hq, w)) < 1e-5


@needs_gpu
def test_workspace_memoizes_without_serving_a_stale_h_res():
    x, hr, hp, hq, w = inputs(300, 4, 4096, "cuda")
    d = mhc.Descriptor(streams=4, channels=4096)
    plan = mhc.HyperConnectionPlan(d)
    uncached = mhc.HyperConnectionPlan(d, coefficient_cache=False)
    assert uncached.workspace_size() == 0 and uncached.new_workspace() is None
    workspace = plan.new_workspace()
    hr2 = hr.clone()
    hr2[1, 2] += 0.25
    for h in (hr, hr, hr2, hr2, hr):
        out = torch.full_like(x, float("nan"))
        plan.run(x, h, hp, hq, w, out, workspace=workspace)
        expected = torch.full_like(x, float("nan"))
        uncached.run(x, h, hp, hq, w, expected)
        torch.cuda.synchronize()
        assert torch.equal(out, expected)
    # An in-place update of H_res (an optimizer step): same storage, new bits.
    hr.add_(0.1)
    out = torch.full_like(x, float("nan"))
    plan.run(x, hr, hp, hq, w, out, workspace=workspace)
    torch.cuda.synchronize()
    assert rel_err(out, float64_reference(x, hr, hp, hq, w)) < 1e-5


@needs_gpu
def test_torch_op_sees_in_place_updates_of_h_res():
    import mhc.torch_ops  # noqa: F401
    x, hr, hp, hq, w = inputs(64, 4, 1280, "cuda")
    first = torch.ops.mhc.static_layer(x, hr, hp, hq, w)
    again = torch.ops.mhc.static_layer(x, hr, hp, hq, w)
    with torch.no_grad():
        hr.mul_(-1.5)
    updated = torch.ops.mhc.static_layer(x, hr, hp, hq, w)
    torch.cuda.synchronize()
    assert torch.equal(first, again)
    assert rel_err(updated, float64_reference(x, hr, hp, hq, w)) < 1e-5
    assert not torch.equal(first, updated)


@needs_gpu
def test_programmatic_launch_chains_with_torch_kernels():
    # Decode-sized runs chained through torch kernels on torch's stream, the
    # mhc launches programmatic (sm_90+) or ordinary: the same bits.
    x, hr, hp, hq, w = inputs(8, 4, 7168, "cuda")
    d = mhc.Descriptor(streams=4, channels=7168)
    results = []
    for programmatic in (True, False):
        plan = mhc.HyperConnectionPlan(d, programmatic_launch=programmatic)
        sm90 = torch.cuda.get_device_capability()[0] >= 9
        assert ("programmatic launch" in plan.sku) == (programmatic and sm90), plan.sku
        workspace = plan.new_workspace()
        h = x.clone()
        for step in range(6):
            out = torch.full_like(h, float("nan"))
            plan.run(h, hr, hp, hq, w, out, workspace=workspace)
            h = out * 0.5 + step  # a torch kernel between the runs
        torch.cuda.synchronize()
        results.append(h)
    assert torch.isfinite(results[0]).all()
    assert torch.equal(results[0], results[1])


@needs_gpu
@pytest.mark.parametrize("b", [8, 64])
def test_plan_runs_inside_a_cuda_graph(b):
    # Decode steps are replayed from CUDA graphs: the launch (programmatic on
    # sm_90+) must capture, between torch kernels, and replay new inputs.
    x, hr, hp, hq, w = inputs(b, 4, 7168, "cuda")
    d = mhc.Descriptor(streams=4, channels=7168)
    plan = mhc.HyperConnectionPlan(d)
    workspace = plan.new_workspace()
    src = x.clone()
    out = torch.full_like(x, float("nan"))
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the capture, as torch asks
        plan.run(src * 1.0, hr, hp, hq, w, out, workspace=workspace)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = src * 1.0  # a torch kernel before the run and one after it
        plan.run(y, hr, hp, hq, w, out, workspace=workspace)
        z = out * 2.0
    for step in range(3):
        src.copy_(x + step)
        graph.replay()
        torch.cuda.synchronize()
        expected = torch.full_like(x, float("nan"))
        mhc.HyperConnectionPlan(d, programmatic_launch=False,
                                coefficient_cache=False).run(x + step, hr, hp, hq, w, expected)
        torch.cuda.synchronize()
        assert torch.equal(z, expected * 2.0), f"replay {step}"
