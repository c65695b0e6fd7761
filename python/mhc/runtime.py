"""HyperConnectionPlan, PrePlan and PostPlan: the runtime's plan API from Python.

Describe a layer once, select a plan once, run it many times on the current
CUDA stream. Arguments are torch tensors (CUDA, contiguous) or raw device
pointers (ints). Errors raise MhcError with the runtime's category and reason.
"""
import ctypes
from dataclasses import dataclass

from . import _capi


class MhcError(RuntimeError):
    """A failed runtime call: `category` is the status name, the message the
    runtime's reason."""

    def __init__(self, status, message):
        self.status = status
        self.category = _capi.STATUS_NAMES.get(status, "unknown")
        super().__init__(f"mhc: {self.category}: {message}")


def _check(status):
    if status != 0:
        raise MhcError(status, _capi.library().mhc_last_error().decode())


@dataclass(frozen=True)
class Descriptor:
    """The layer; the same fields and defaults as mhc.static_layer."""
    streams: int
    channels: int
    max_batch: int = 0
    weight_dtype: str = "bf16"          # "bf16" | "f32"
    eps: float = 1e-6
    sinkhorn_iters: int = 20
    sinkhorn_init: str = "exp"          # "exp" | "softmax"
    sinkhorn_eps: float = 1e-6
    pre_eps: float = 0.0
    orientation: str = "direct"         # "direct" | "transposed"

    def _to_c(self):
        d = _capi.Descriptor()
        lib = _capi.library()
        lib.mhc_descriptor_init(ctypes.byref(d), self.streams, self.channels)
        d.max_batch = self.max_batch
        d.weight = _dtype(self.weight_dtype)
        d.eps = self.eps
        d.sinkhorn_iters = self.sinkhorn_iters
        d.sinkhorn_init = {"exp": 0, "softmax": 1}[self.sinkhorn_init]
        d.sinkhorn_eps = self.sinkhorn_eps
        d.pre_eps = self.pre_eps
        d.orientation = _orientation(self.orientation)
        return d


def _dtype(name, what="weight dtype"):
    try:
        return {"f32": _capi.DTYPE_F32, "bf16": _capi.DTYPE_BF16}[name]
    except KeyError:
        raise ValueError(f"{what} must be 'f32' or 'bf16', got {name!r}")


def _orientation(name):
    try:
        return {"direct": _capi.MIX_DIRECT, "transposed": _capi.MIX_TRANSPOSED}[name]
    except KeyError:
        raise ValueError(f"orientation must be 'direct' or 'transposed', got {name!r}")


def _pointer(value, name):
    """A device address from a torch tensor or an int."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if not value.is_cuda:
        raise ValueError(f"{name} must be a CUDA tensor")
    if not value.is_contiguous():
        raise ValueError(f"{name} must be contiguous")
    return value.data_ptr()


def _current_stream():
    try:
        import torch
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            return torch.cuda.current_stream().cuda_stream
    except ImportError:
        pass
    return 0


class _Plan:
    """What every plan shares: the C handle (destroyed with the object), its
    SKU and precision guarantee, through the C functions `mhc_<prefix>_*`."""
    _prefix = "plan"

    def _fn(self, name):
        return getattr(self._lib, f"mhc_{self._prefix}_{name}")

    def _select(self, descriptor, preference, stream):
        self.descriptor = descriptor
        self._lib = _capi.library()
        handle = ctypes.c_void_p()
        d = descriptor._to_c()
        _check(self._fn("select")(
            ctypes.c_void_p(_current_stream() if stream is None else stream),
            ctypes.byref(d), ctypes.byref(preference), ctypes.byref(handle)))
        self._handle = handle

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._fn("destroy")(handle)
            self._handle = None

    @property
    def sku(self):
        return self._fn("sku")(self._handle).decode()

    def precision_guarantee(self):
        p = _capi.Precision()
        _check(self._fn("precision_guarantee")(self._handle, ctypes.byref(p)))
        return {"deterministic": bool(p.deterministic),
                "max_relative_error": p.max_relative_error,
                "math": p.math.decode(), "accumulation": p.accumulation.decode()}


class HyperConnectionPlan(_Plan):
    """A selected plan (see include/mhc/Runtime/HyperConnection.h)."""

    def __init__(self, descriptor, portable=False, max_blocks=0, stream=None,
                 cluster_rows=True, coefficient_cache=True,
                 programmatic_launch=True):
        pref = _capi.Preference(int(bool(portable)), int(max_blocks),
                                int(not cluster_rows),
                                int(not coefficient_cache),
                                int(not programmatic_launch))
        self._select(descriptor, pref, stream)
        self._workspaces = {}

    def workspace_size(self):
        """Bytes of device workspace a run needs (the coefficient cache)."""
        return self._lib.mhc_plan_workspace_size(self._handle)

    def new_workspace(self, device=None):
        """A torch tensor to pass as `workspace` (None when the plan needs
        none). Reuse it for the runs of one layer on one stream: its cache
        then holds that layer's M' between runs."""
        size = self.workspace_size()
        if size == 0:
            return None
        import torch
        # Any contents are valid (the kernel checks a seal over the whole
        # entry); zeros only spare a first lookup of uninitialized memory.
        return torch.zeros(size, dtype=torch.uint8,
                           device="cuda" if device is None else device)

    def _args(self, x, h_res, h_pre, h_post, weight, out, batch):
        if batch is None:
            if isinstance(x, int):
                raise ValueError("batch is required with raw pointers")
            batch = x.shape[0]
        return _capi.Args(_pointer(x, "x"), _pointer(h_res, "h_res"),
                          _pointer(h_pre, "h_pre"), _pointer(h_post, "h_post"),
                          _pointer(weight, "weight"), _pointer(out, "out"),
                          int(batch), _dtype(self.descriptor.weight_dtype))

    def can_implement(self, x, h_res, h_pre, h_post, weight, out, batch=None):
        """Raises MhcError when the arguments are not acceptable."""
        args = self._args(x, h_res, h_pre, h_post, weight, out, batch)
        _check(self._lib.mhc_plan_can_implement(self._handle, ctypes.byref(args)))

    def bind(self, x, h_res, h_pre, h_post, weight, out, batch=None,
             stream=None, workspace=None):
        """Validates the arguments once and returns a callable that enqueues
        the layer on them (the pointers are bound, not the tensors: keep them
        alive). The lightest way to run the same buffers many times. Without
        `workspace`, one is allocated for the callable (on x's device)."""
        args = self._args(x, h_res, h_pre, h_post, weight, out, batch)
        _check(self._lib.mhc_plan_can_implement(self._handle, ctypes.byref(args)))
        if workspace is None:
            workspace = self.new_workspace(
                None if isinstance(x, int) else x.device)
        run, handle, ref = self._lib.mhc_plan_run, self._handle, ctypes.byref(args)
        s = ctypes.c_void_p(_current_stream() if stream is None else stream)
        w = ctypes.c_void_p(_pointer(workspace, "workspace"))

        def launch():
            status = run(handle, s, w, ref)
            if status:
                _check(status)
        launch.args = args  # keeps the struct alive with the callable
        launch.workspace = workspace
        return launch

    def run(self, x, h_res, h_pre, h_post, weight, out, batch=None,
            stream=None, workspace=None):
        """Enqueues the layer on `stream` (default: torch's current stream).
        `workspace`: workspace_size() bytes of device memory (see
        new_workspace), e.g. one per layer; without it, the plan's own
        workspace for this device and stream is used (allocated on first
        use; layers that share the plan then share it, which stays correct
        but memoizes only the last H_res)."""
        args = self._args(x, h_res, h_pre, h_post, weight, out, batch)
        s = _current_stream() if stream is None else stream
        if workspace is None and not isinstance(x, int):
            # One workspace per (device, stream), kept with the plan: runs on
            # one stream are ordered, so they may share it (it never outlives
            # a run that uses it).
            key = (x.device, s)
            if key not in self._workspaces:
                self._workspaces[key] = self.new_workspace(x.device)
            workspace = self._workspaces[key]
        _check(self._lib.mhc_plan_run(self._handle, ctypes.c_void_p(s),
                                      ctypes.c_void_p(_pointer(workspace, "workspace")),
                                      ctypes.byref(args)))
        return out


@dataclass(frozen=True)
class PostDescriptor:
    """The dynamic-H post (mhc.post): out = M' x + h_post f per token."""
    streams: int
    channels: int
    max_batch: int = 0
    activation_dtype: str = "bf16"      # x and out: "bf16" | "f32"
    sublayer_dtype: str = "bf16"        # f: "bf16" | "f32"
    orientation: str = "direct"         # M ("direct") or M^T ("transposed")

    def _to_c(self):
        d = _capi.PostDescriptor()
        _capi.library().mhc_post_descriptor_init(ctypes.byref(d), self.streams,
                                                 self.channels)
        d.max_batch = self.max_batch
        d.activation = _dtype(self.activation_dtype, "activation dtype")
        d.sublayer = _dtype(self.sublayer_dtype, "sublayer dtype")
        d.orientation = _orientation(self.orientation)
        return d


class PostPlan(_Plan):
    """A selected post plan (see include/mhc/Runtime/DynamicPost.h). It needs
    no workspace."""
    _prefix = "post_plan"

    def __init__(self, descriptor, portable=False, max_blocks=0, stream=None):
        self._select(descriptor,
                     _capi.Preference(int(bool(portable)), int(max_blocks), 0, 0, 0),
                     stream)

    def workspace_size(self):
        return self._fn("workspace_size")(self._handle)

    def _args(self, x, f, matrix, h_post, out, batch):
        if batch is None:
            if isinstance(x, int):
                raise ValueError("batch is required with raw pointers")
            batch = x.shape[0]
        return _capi.PostArgs(_pointer(x, "x"), _pointer(f, "f"),
                              _pointer(matrix, "matrix"),
                              _pointer(h_post, "h_post"), _pointer(out, "out"),
                              int(batch))

    def can_implement(self, x, f, matrix, h_post, out, batch=None):
        """Raises MhcError when the arguments are not acceptable."""
        args = self._args(x, f, matrix, h_post, out, batch)
        _check(self._lib.mhc_post_plan_can_implement(self._handle,
                                                     ctypes.byref(args)))

    def run(self, x, f, matrix, h_post, out, batch=None, stream=None):
        """Enqueues the post on `stream` (default: torch's current stream)."""
        args = self._args(x, f, matrix, h_post, out, batch)
        s = _current_stream() if stream is None else stream
        _check(self._lib.mhc_post_plan_run(self._handle, ctypes.c_void_p(s), None,
                                           ctypes.byref(args)))


@dataclass(frozen=True)
class PreDescriptor:
    """The dynamic-H pre (mhc.coefficients + mhc.pre of the same streams)."""
    streams: int
    channels: int
    max_batch: int = 0
    activation_dtype: str = "bf16"      # x and y: "bf16" | "f32"
    projection_dtype: str = "bf16"      # phi: "bf16" | "f32"
    eps: float = 1e-6
    pre_eps: float = 0.0
    sinkhorn_iters: int = 20
    sinkhorn_init: str = "exp"          # "exp" | "softmax"
    sinkhorn_eps: float = 1e-6

    def _to_c(self):
        d = _capi.PreDescriptor()
        _capi.library().mhc_pre_descriptor_init(ctypes.byref(d), self.streams,
                                                self.channels)
        d.max_batch = self.max_batch
        d.activation = _dtype(self.activation_dtype, "activation dtype")
        d.projection = _dtype(self.projection_dtype, "projection dtype")
        d.eps = self.eps
        d.pre_eps = self.pre_eps
        d.sinkhorn_iters = self.sinkhorn_iters
        try:
            d.sinkhorn_init = {"exp": _capi.SINKHORN_EXP,
                               "softmax": _capi.SINKHORN_SOFTMAX}[self.sinkhorn_init]
        except KeyError:
            raise ValueError(f"sinkhorn_init must be 'exp' or 'softmax', "
                             f"got {self.sinkhorn_init!r}")
        d.sinkhorn_eps = self.sinkhorn_eps
        return d


class PrePlan(_Plan):
    """A selected pre plan (see include/mhc/Runtime/DynamicPre.h): two launches
    per run; the workspace (the projection's partials) depends on the batch."""
    _prefix = "pre_plan"

    def __init__(self, descriptor, max_blocks=0, stream=None):
        self._select(descriptor, _capi.Preference(0, int(max_blocks), 0, 0, 0),
                     stream)

    def workspace_size(self, batch):
        """Bytes of workspace a run of `batch` tokens needs."""
        return self._fn("workspace_size")(self._handle, int(batch))

    def new_workspace(self, batch, device=None):
        """A torch tensor of workspace_size(batch) bytes (None if 0)."""
        size = self.workspace_size(batch)
        if size == 0:
            return None
        import torch
        return torch.empty(size, dtype=torch.uint8,
                           device="cuda" if device is None else device)

    def _args(self, x, phi, alpha, bias, y, h_pre, h_post, matrix, batch):
        if batch is None:
            if isinstance(x, int):
                raise ValueError("batch is required with raw pointers")
            batch = x.shape[0]
        names = ("x", "phi", "alpha", "bias", "y", "h_pre", "h_post", "matrix")
        ptrs = [_pointer(v, k) for v, k in zip((x, phi, alpha, bias, y, h_pre,
                                                h_post, matrix), names)]
        return _capi.PreArgs(*ptrs, int(batch))

    def can_implement(self, x, phi, alpha, bias, y, h_pre, h_post, matrix,
                      batch=None):
        args = self._args(x, phi, alpha, bias, y, h_pre, h_post, matrix, batch)
        _check(self._lib.mhc_pre_plan_can_implement(self._handle,
                                                    ctypes.byref(args)))

    def run(self, x, phi, alpha, bias, y, h_pre, h_post, matrix, workspace,
            batch=None, stream=None):
        """Enqueues the projection and the pre on `stream` (default: torch's
        current stream); `workspace`: workspace_size(batch) bytes."""
        args = self._args(x, phi, alpha, bias, y, h_pre, h_post, matrix, batch)
        s = _current_stream() if stream is None else stream
        _check(self._lib.mhc_pre_plan_run(
            self._handle, ctypes.c_void_p(s),
            ctypes.c_void_p(_pointer(workspace, "workspace")), ctypes.byref(args)))
