"""mhc: manifold-constrained Hyper-Connections, compiled.

- `mhc.HyperConnectionPlan` / `mhc.Descriptor`: the runtime's plan API over
  the kernels mhc-opt generated (needs libmhc_runtime.so).
- `mhc.torch_ops`: the PyTorch custom op `torch.ops.mhc.static_layer`
  (imported on demand, needs torch).
"""
from .runtime import Descriptor, HyperConnectionPlan, MhcError

__all__ = ["Descriptor", "HyperConnectionPlan", "MhcError"]
