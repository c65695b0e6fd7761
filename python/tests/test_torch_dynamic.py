"""The dynamic-H torch ops, torch.ops.mhc.pre and torch.ops.mhc.post:
against float64 (the CPU path in CI, the GPU post on the GPU machine), NaN
confined to its token, bad input rejected with a reason, and a block with a
real torch sublayer between pre and post, eager and under
torch.compile(fullgraph=True). Skipped without torch; the GPU tests without
a CUDA device, the torch.compile tests before torch 2.4.

Run: PYTHONPATH=build/python python3 -m pytest python/tests
"""
import pytest

torch = pytest.importorskip("torch")
import mhc.torch_ops as ops  # noqa: E402  (needs torch)
from mhc import reference  # noqa: E402

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
needs_compile = pytest.mark.skipif(
    not ops.COMPILE_SUPPORTED,
    reason=f"torch.compile of the ops needs torch >= 2.4; this is torch {torch.__version__}")

CONVENTIONS = [
    dict(),
    dict(sinkhorn_init="softmax", pre_eps=1e-6, sinkhorn_eps=1e-6),
    dict(sinkhorn_iters=3, eps=1e-3),
]


def dynamic_inputs(b, n, c, dtype=torch.float32, phi_dtype=torch.float32, seed=0,
                   device="cpu"):
    g = torch.Generator(device="cpu").manual_seed(seed)
    m = n * n + 2 * n
    x = torch.randn(b, n, c, generator=g).to(dtype)
    phi = (torch.randn(n * c, m, generator=g) / (n * c) ** 0.5).to(phi_dtype)
    alpha = torch.tensor([0.8, 1.3, 2.0])
    bias = torch.randn(m, generator=g) * 0.5
    return [t.to(device) for t in (x, phi, alpha, bias)]


def post_inputs(b, n, c, dtype=torch.float32, f_dtype=None, seed=1, device="cpu"):
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = (torch.rand(b, n, c, generator=g) * 4 - 2).to(dtype)
    f = (torch.rand(b, c, generator=g) * 4 - 2).to(f_dtype or dtype)
    matrix = torch.rand(b, n, n, generator=g)
    h_post = torch.rand(b, n, generator=g) * 2
    return [t.to(device) for t in (x, f, matrix, h_post)]


def rel_err(out, ref):
    out, ref = out.double().cpu(), ref.double().cpu()
    return ((out - ref).abs().max() / max(1.0, ref.abs().max().item())).item()


@pytest.mark.parametrize("b,n,c", [(1, 1, 1), (3, 2, 37), (64, 4, 64), (2, 8, 13)])
@pytest.mark.parametrize("conventions", CONVENTIONS)
def test_pre_matches_float64(b, n, c, conventions):
    x, phi, alpha, bias = dynamic_inputs(b, n, c)
    y, h_pre, h_post, m = torch.ops.mhc.pre(x, phi, alpha, bias, **conventions)
    args = dict(conventions)
    eps = args.pop("eps", 1e-6)
    want = reference.coefficients(x.double(), phi.double(), alpha.double(), bias.double(),
                                  eps, dtype=torch.float64, **args)
    for got, ref in zip((h_pre, h_post, m), want):
        assert got.dtype == torch.float32
        assert rel_err(got, ref) < 1e-5
    assert rel_err(y, reference.pre(x.double(), want[0], torch.float64)) < 1e-5


def test_pre_bf16_rounds_y_once():
    x, phi, alpha, bias = dynamic_inputs(5, 4, 64, torch.bfloat16, torch.bfloat16)
    y, h_pre, _, _ = torch.ops.mhc.pre(x, phi, alpha, bias)
    assert y.dtype == torch.bfloat16 and h_pre.dtype == torch.float32
    ref = reference.pre(x.double(), h_pre.double(), torch.float64)
    # One rounding of the f32 sum to bf16: within 2^-8 of the scale.
    assert rel_err(y, ref) < 2 ** -8


@pytest.mark.parametrize("b,n,c", [(1, 1, 1), (3, 3, 37), (64, 4, 64), (2, 12, 13)])
@pytest.mark.parametrize("dtype,f_dtype", [(torch.float32, torch.float32),
                                           (torch.float32, torch.bfloat16),
                                           (torch.bfloat16, torch.bfloat16),
                                           (torch.bfloat16, torch.float32)])
@pytest.mark.parametrize("orientation", ["direct", "transposed"])
def test_post_cpu_matches_float64(b, n, c, dtype, f_dtype, orientation):
    x, f, m, h = post_inputs(b, n, c, dtype, f_dtype)
    out = torch.ops.mhc.post(x, f, m, h, orientation)
    assert out.dtype == dtype and out.shape == x.shape
    ref = reference.post(x.double(), f.double(), m.double(), h.double(), orientation,
                         torch.float64)
    assert rel_err(out, ref) < (1e-5 if dtype == torch.float32 else 2 ** -8)


def test_post_nan_stays_in_its_token():
    x, f, m, h = post_inputs(4, 4, 16)
    x[2, 1, 5] = float("nan")
    out = torch.ops.mhc.post(x, f, m, h)
    assert torch.isnan(out[2, :, 5]).all()
    finite = torch.ones_like(out, dtype=torch.bool)
    finite[2, :, 5] = False
    assert torch.isfinite(out[finite]).all()


def test_pre_nan_stays_in_its_token():
    x, phi, alpha, bias = dynamic_inputs(4, 4, 16)
    x[1, 0, 3] = float("nan")
    y, h_pre, h_post, m = torch.ops.mhc.pre(x, phi, alpha, bias)
    for t in (y, h_pre, h_post, m):
        assert torch.isnan(t[1]).any()
        assert torch.isfinite(t[[0, 2, 3]]).all()


def test_ops_reject_what_they_cannot_compute():
    x, f, m, h = post_inputs(2, 4, 8)
    with pytest.raises(Exception, match="f must be a \\[2, 8\\]"):
        torch.ops.mhc.post(x, f[:, :7], m, h)
    with pytest.raises(Exception, match="matrix and h_post must be float32"):
        torch.ops.mhc.post(x, f, m.double(), h)
    with pytest.raises(Exception, match="orientation"):
        torch.ops.mhc.post(x, f, m, h, "sideways")
    with pytest.raises(Exception, match="x must be a \\[B, n, C\\]"):
        torch.ops.mhc.post(x.half(), f, m, h)
    x, phi, alpha, bias = dynamic_inputs(2, 4, 8)
    with pytest.raises(Exception, match="phi must be a \\[32, 24\\]"):
        torch.ops.mhc.pre(x, phi[:, :20], alpha, bias)
    with pytest.raises(Exception, match="alpha must have 3 entries"):
        torch.ops.mhc.pre(x, phi, alpha[:2], bias)


class Block(torch.nn.Module):
    """A transformer-style block whose residual is the dynamic mHC layer: the
    pre, a real sublayer (an MLP), the post."""

    def __init__(self, n, c, dtype=torch.float32):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        m = n * n + 2 * n
        self.phi = torch.nn.Parameter(torch.randn(n * c, m, generator=g) / (n * c) ** 0.5)
        self.alpha = torch.nn.Parameter(torch.tensor([0.8, 1.3, 2.0]))
        self.bias = torch.nn.Parameter(torch.randn(m, generator=g) * 0.5)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(c, 2 * c), torch.nn.GELU(),
                                       torch.nn.Linear(2 * c, c)).to(dtype)

    def forward(self, x):
        y, _, h_post, m = torch.ops.mhc.pre(x, self.phi, self.alpha, self.bias,
                                            sinkhorn_init="softmax")
        return torch.ops.mhc.post(x, self.mlp(y), m, h_post, "transposed")

    def reference(self, x):
        h_pre, h_post, m = reference.coefficients(x, self.phi, self.alpha, self.bias,
                                                  sinkhorn_init="softmax")
        f = self.mlp(reference.pre(x, h_pre).to(x.dtype))
        return reference.post(x, f, m, h_post, "transposed").to(x.dtype)


@torch.no_grad()
def test_block_with_a_real_sublayer():
    block = Block(4, 32)
    x = torch.randn(6, 4, 32)
    assert rel_err(block(x), block.reference(x)) < 1e-5


@needs_compile
@torch.no_grad()
def test_block_under_compile_fullgraph():
    block = Block(4, 32)
    x = torch.randn(6, 4, 32)
    compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
    assert rel_err(compiled(x), block(x)) < 1e-6


@needs_gpu
@pytest.mark.parametrize("b,n,c", [(1, 4, 7168), (7, 3, 37), (64, 8, 4096), (5, 16, 1000)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_post_gpu_matches_float64(b, n, c, dtype):
    x, f, m, h = post_inputs(b, n, c, dtype, device="cuda")
    out = torch.ops.mhc.post(x, f, m, h, "transposed")
    ref = reference.post(x.double().cpu(), f.double().cpu(), m.double().cpu(),
                         h.double().cpu(), "transposed", torch.float64)
    assert rel_err(out, ref) < (1e-5 if dtype == torch.float32 else 2 ** -8)
    assert torch.equal(out, torch.ops.mhc.post(x, f, m, h, "transposed"))


@needs_gpu
@needs_compile
@torch.no_grad()
def test_block_on_the_gpu_under_compile():
    block = Block(4, 256).cuda()
    x = torch.randn(64, 4, 256, device="cuda")
    eager = block(x)
    compiled = torch.compile(block, fullgraph=True)(x)
    assert rel_err(eager, block.reference(x)) < 1e-4
    assert rel_err(compiled, eager) < 1e-4


def test_pre_backend_names_the_path():
    x, phi, _, _ = dynamic_inputs(2, 4, 64)
    assert ops.pre_backend(x, phi) == "reference"  # CPU tensors


@needs_gpu
@pytest.mark.parametrize("b,n,c", [(1, 4, 7168), (67, 4, 1024), (5, 8, 64), (33, 1, 64),
                                   (3, 4, 37)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_pre_gpu_matches_float64(b, n, c, dtype):
    x, phi, alpha, bias = dynamic_inputs(b, n, c, dtype, dtype, device="cuda")
    assert ops.pre_backend(x, phi) == "kernel"
    y, h_pre, h_post, m = torch.ops.mhc.pre(x, phi, alpha, bias, sinkhorn_init="softmax")
    want = reference.coefficients(x.double().cpu(), phi.double().cpu(), alpha.double().cpu(),
                                  bias.double().cpu(), sinkhorn_init="softmax",
                                  dtype=torch.float64)
    # tf32 (f32 inputs) rounds each operand to 2^-11; bf16 products are exact.
    tol = 5e-3 if dtype == torch.float32 else 1e-4
    for got, ref in zip((h_pre, h_post, m), want):
        assert rel_err(got, ref) < tol
    y_ref = reference.pre(x.double().cpu(), want[0], torch.float64)
    assert rel_err(y, y_ref) < (tol if dtype == torch.float32 else 2 ** -7)
    again = torch.ops.mhc.pre(x, phi, alpha, bias, sinkhorn_init="softmax")
    assert all(torch.equal(a, b_) for a, b_ in zip((y, h_pre, h_post, m), again))
