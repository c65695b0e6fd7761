"""mhc's PyTorch custom ops:

- `torch.ops.mhc.static_layer`: the static layer;
- `torch.ops.mhc.pre`: the dynamic-H layer before its sublayer F (the pre
  unit: per-token coefficients and the aggregation), returning
  (y, h_pre, h_post, M);
- `torch.ops.mhc.post`: the dynamic-H write back after F,
  out = M' x + h_post f.

On CUDA tensors the ops run the compiler-generated kernels through cached
plans (one per descriptor and device), on torch's current stream; on CPU
tensors every op computes the reference math (mhc.reference). The pre's
kernels take n <= 8 (any C: element-wise kernels where the vector ones do
not fit); more streams on CUDA compute the reference math with torch's CUDA
operations (`pre_backend(...)` says which a shape gets).

Which torch gives what (REGISTRATION says which path this process took):
- torch >= 2.4: a torch.library.custom_op with a fake implementation, so it
  traces under torch.compile(fullgraph=True) without graph breaks;
- torch 1.13 to 2.3: the same eager op (CPU and CUDA) defined through
  torch.library.Library, with a fake implementation where
  torch.library.impl_abstract exists (2.2, 2.3);
- older torch: importing this module raises ImportError naming the version.
"""
import weakref
from collections import OrderedDict
from typing import Tuple

import torch

from . import reference
from .runtime import (Descriptor, HyperConnectionPlan, PostDescriptor, PostPlan,
                      PreDescriptor, PrePlan)

_plans = {}
# Workspaces (coefficient caches) per plan (they live and die with it), one
# per (stream, H_res storage): a layer's runs on one stream reuse its M'
# while its H_res is unchanged (the kernel compares H_res's bits, so an
# updated H_res is never served stale). Least recently used first; bounded.
_workspaces = weakref.WeakKeyDictionary()
_MAX_WORKSPACES_PER_PLAN = 4096


def plan_cache():
    """The cached plans, keyed by (Descriptor, device index)."""
    return _plans


def _plan(descriptor, device):
    key = (descriptor, device)
    plan = _plans.get(key)
    if plan is None:
        with torch.cuda.device(device):
            plan = HyperConnectionPlan(descriptor)
        _plans[key] = plan
    return plan


def _workspace(plan, x, h_res):
    workspaces = _workspaces.setdefault(plan, OrderedDict())
    stream = torch.cuda.current_stream(x.device)
    key = (stream.cuda_stream, h_res.data_ptr())
    workspace = workspaces.get(key)
    if workspace is None:
        workspace = plan.new_workspace(x.device)
        workspaces[key] = workspace
        if len(workspaces) > _MAX_WORKSPACES_PER_PLAN:
            workspaces.popitem(last=False)
    else:
        workspaces.move_to_end(key)
    return workspace


def _static_layer(x: torch.Tensor, h_res: torch.Tensor, h_pre: torch.Tensor,
                 h_post: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6,
                 sinkhorn_iters: int = 20, sinkhorn_init: str = "exp",
                 sinkhorn_eps: float = 1e-6, pre_eps: float = 0.0,
                 orientation: str = "direct") -> torch.Tensor:
    if x.dim() != 3 or x.dtype != torch.float32:
        raise ValueError("x must be a [B, n, C] float32 tensor")
    if weight.dtype not in (torch.bfloat16, torch.float32):
        raise ValueError("weight must be bfloat16 or float32")
    if not x.is_cuda:
        return reference.static_layer(
            x, h_res, h_pre, h_post, weight, eps, sinkhorn_iters,
            sinkhorn_init, sinkhorn_eps, pre_eps, orientation)
    b, n, c = x.shape
    descriptor = Descriptor(
        streams=n, channels=c,
        weight_dtype="bf16" if weight.dtype == torch.bfloat16 else "f32",
        eps=eps, sinkhorn_iters=sinkhorn_iters, sinkhorn_init=sinkhorn_init,
        sinkhorn_eps=sinkhorn_eps, pre_eps=pre_eps, orientation=orientation)
    plan = _plan(descriptor, x.device.index)
    x = x.contiguous()
    out = torch.empty_like(x)
    h_res = h_res.contiguous()
    plan.run(x, h_res, h_pre.contiguous(), h_post.contiguous(),
             weight.contiguous(), out, batch=b,
             workspace=_workspace(plan, x, h_res))
    return out


def _fake_static_layer(x, h_res, h_pre, h_post, weight, eps=1e-6,
                       sinkhorn_iters=20, sinkhorn_init="exp", sinkhorn_eps=1e-6,
                       pre_eps=0.0, orientation="direct"):
    return torch.empty_like(x)


_DTYPES = {torch.float32: "f32", torch.bfloat16: "bf16"}


def _post(x: torch.Tensor, f: torch.Tensor, matrix: torch.Tensor,
          h_post: torch.Tensor, orientation: str = "direct") -> torch.Tensor:
    if x.dim() != 3 or x.dtype not in _DTYPES:
        raise ValueError("x must be a [B, n, C] float32 or bfloat16 tensor")
    b, n, c = x.shape
    if f.shape != (b, c) or f.dtype not in _DTYPES:
        raise ValueError(f"f must be a [{b}, {c}] float32 or bfloat16 tensor, "
                         f"got {tuple(f.shape)} {f.dtype}")
    if matrix.shape != (b, n, n) or h_post.shape != (b, n) or \
            matrix.dtype != torch.float32 or h_post.dtype != torch.float32:
        raise ValueError(f"matrix and h_post must be float32 [{b}, {n}, {n}] "
                         f"and [{b}, {n}]")
    if orientation not in ("direct", "transposed"):
        raise ValueError("orientation must be 'direct' or 'transposed'")
    if not x.is_cuda:
        return reference.post(x, f, matrix, h_post, orientation).to(x.dtype)
    descriptor = PostDescriptor(streams=n, channels=c,
                                activation_dtype=_DTYPES[x.dtype],
                                sublayer_dtype=_DTYPES[f.dtype],
                                orientation=orientation)
    plan = _plans.get((descriptor, x.device.index))
    if plan is None:
        with torch.cuda.device(x.device.index):
            plan = PostPlan(descriptor)
        _plans[(descriptor, x.device.index)] = plan
    x = x.contiguous()
    out = torch.empty_like(x)
    plan.run(x, f.contiguous(), matrix.contiguous(), h_post.contiguous(), out,
             batch=b)
    return out


def _fake_post(x, f, matrix, h_post, orientation="direct"):
    return torch.empty_like(x)


def pre_backend(x, phi):
    """'kernel' where torch.ops.mhc.pre runs mhc's kernels for these tensors
    (CUDA, n <= 8), else 'reference'."""
    if not x.is_cuda or x.dtype not in _DTYPES or phi.dtype not in _DTYPES:
        return "reference"
    return "kernel" if 1 <= x.shape[1] <= 8 else "reference"


def _pre(x: torch.Tensor, phi: torch.Tensor, alpha: torch.Tensor,
         bias: torch.Tensor, eps: float = 1e-6, pre_eps: float = 0.0,
         sinkhorn_iters: int = 20, sinkhorn_init: str = "exp",
         sinkhorn_eps: float = 1e-6
         ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    if x.dim() != 3 or x.dtype not in _DTYPES:
        raise ValueError("x must be a [B, n, C] float32 or bfloat16 tensor")
    b, n, c = x.shape
    m = n * n + 2 * n
    if phi.shape != (n * c, m) or phi.dtype not in _DTYPES:
        raise ValueError(f"phi must be a [{n * c}, {m}] float32 or bfloat16 "
                         f"tensor, got {tuple(phi.shape)} {phi.dtype}")
    if alpha.shape != (3,) or bias.shape != (m,):
        raise ValueError(f"alpha must have 3 entries and bias {m}")
    if pre_backend(x, phi) == "kernel":
        descriptor = PreDescriptor(
            streams=n, channels=c, activation_dtype=_DTYPES[x.dtype],
            projection_dtype=_DTYPES[phi.dtype], eps=eps, pre_eps=pre_eps,
            sinkhorn_iters=sinkhorn_iters, sinkhorn_init=sinkhorn_init,
            sinkhorn_eps=sinkhorn_eps)
        key = (descriptor, x.device.index)
        plan = _plans.get(key)
        if plan is None:
            with torch.cuda.device(x.device.index):
                plan = PrePlan(descriptor)
            _plans[key] = plan
        x = x.contiguous()
        y = x.new_empty((b, c))
        h_pre = x.new_empty((b, n), dtype=torch.float32)
        h_post = torch.empty_like(h_pre)
        matrix = x.new_empty((b, n, n), dtype=torch.float32)
        if b:
            plan.run(x, phi.contiguous(), alpha.float().contiguous(),
                     bias.float().contiguous(), y, h_pre, h_post, matrix,
                     plan.new_workspace(b, x.device), batch=b)
        return y, h_pre, h_post, matrix
    h_pre, h_post, matrix = reference.coefficients(
        x, phi, alpha, bias, eps, pre_eps, sinkhorn_iters, sinkhorn_init,
        sinkhorn_eps)
    y = reference.pre(x, h_pre).to(x.dtype)
    return y, h_pre, h_post, matrix


def _fake_pre(x, phi, alpha, bias, eps=1e-6, pre_eps=0.0, sinkhorn_iters=20,
              sinkhorn_init="exp", sinkhorn_eps=1e-6):
    b, n, c = x.shape
    coeffs = x.new_empty((b, n), dtype=torch.float32)
    return (x.new_empty((b, c)), coeffs, torch.empty_like(coeffs),
            x.new_empty((b, n, n), dtype=torch.float32))


# Each op: its implementation, its fake (shapes only) and its schema for
# torch.library.Library (custom_op infers the same one from the annotations).
_OPS = {
    "static_layer": (
        _static_layer, _fake_static_layer,
        "static_layer(Tensor x, Tensor h_res, Tensor h_pre, Tensor h_post, "
        "Tensor weight, float eps=1e-06, int sinkhorn_iters=20, "
        "str sinkhorn_init=\"exp\", float sinkhorn_eps=1e-06, "
        "float pre_eps=0.0, str orientation=\"direct\") -> Tensor"),
    "pre": (
        _pre, _fake_pre,
        "pre(Tensor x, Tensor phi, Tensor alpha, Tensor bias, float eps=1e-06, "
        "float pre_eps=0.0, int sinkhorn_iters=20, str sinkhorn_init=\"exp\", "
        "float sinkhorn_eps=1e-06) -> (Tensor, Tensor, Tensor, Tensor)"),
    "post": (
        _post, _fake_post,
        "post(Tensor x, Tensor f, Tensor matrix, Tensor h_post, "
        "str orientation=\"direct\") -> Tensor"),
}

if hasattr(torch.library, "custom_op"):  # torch >= 2.4
    for _name, (_impl, _fake, _) in _OPS.items():
        torch.library.custom_op(f"mhc::{_name}", mutates_args=())(
            _impl).register_fake(_fake)
    REGISTRATION = "custom_op"
elif hasattr(torch.library, "Library"):  # torch 1.13 .. 2.3
    _library = torch.library.Library("mhc", "DEF")
    REGISTRATION = "library"
    for _name, (_impl, _fake, _schema) in _OPS.items():
        _library.define(_schema)
        for _key in ("CPU", "CUDA"):
            _library.impl(_name, _impl, _key)
        if hasattr(torch.library, "impl_abstract"):  # torch 2.2, 2.3
            torch.library.impl_abstract(f"mhc::{_name}", _fake, lib=_library)
            REGISTRATION = "library+fake"
else:
    raise ImportError("mhc.torch_ops needs torch 1.13 or newer (torch.library."
                      f"Library); this is torch {torch.__version__}")

static_layer = torch.ops.mhc.static_layer
pre = torch.ops.mhc.pre
post = torch.ops.mhc.post

#: torch.compile(fullgraph=True) can trace the ops: fake implementations are
#: registered and torch has torch.compile.
COMPILE_SUPPORTED = REGISTRATION != "library" and hasattr(torch, "compile")
