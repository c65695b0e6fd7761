"""`torch.ops.mhc.static_layer`: the static layer as a PyTorch custom op.

On CUDA tensors it runs the compiler-generated kernel through a cached plan
(one per descriptor and device), on torch's current stream; on CPU tensors it
computes the reference math.

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

import torch

from . import reference
from .runtime import Descriptor, HyperConnectionPlan

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


# The op's schema for torch.library.Library (custom_op infers the same one
# from _static_layer's annotations).
_SCHEMA = ("static_layer(Tensor x, Tensor h_res, Tensor h_pre, Tensor h_post, "
           "Tensor weight, float eps=1e-06, int sinkhorn_iters=20, "
           "str sinkhorn_init=\"exp\", float sinkhorn_eps=1e-06, "
           "float pre_eps=0.0, str orientation=\"direct\") -> Tensor")

if hasattr(torch.library, "custom_op"):  # torch >= 2.4
    static_layer = torch.library.custom_op(
        "mhc::static_layer", mutates_args=())(_static_layer)
    static_layer.register_fake(_fake_static_layer)
    REGISTRATION = "custom_op"
elif hasattr(torch.library, "Library"):  # torch 1.13 .. 2.3
    _library = torch.library.Library("mhc", "DEF")
    _library.define(_SCHEMA)
    for _key in ("CPU", "CUDA"):
        _library.impl("static_layer", _static_layer, _key)
    REGISTRATION = "library"
    if hasattr(torch.library, "impl_abstract"):  # torch 2.2, 2.3
        torch.library.impl_abstract("mhc::static_layer", _fake_static_layer,
                                    lib=_library)
        REGISTRATION = "library+fake"
    static_layer = torch.ops.mhc.static_layer
else:
    raise ImportError("mhc.torch_ops needs torch 1.13 or newer (torch.library."
                      f"Library); this is torch {torch.__version__}")

#: torch.compile(fullgraph=True) can trace the op: a fake implementation is
#: registered and torch has torch.compile.
COMPILE_SUPPORTED = REGISTRATION != "library" and hasattr(torch, "compile")
