"""mhc: manifold-constrained Hyper-Connections, compiled.

- `mhc.HyperConnectionPlan` / `mhc.Descriptor`: the runtime's plan API over
  the static layer's kernels mhc-opt generated (needs libmhc_runtime.so);
  `mhc.PostPlan` / `mhc.PostDescriptor` the same for the dynamic-H post.
- `mhc.torch_ops`: the PyTorch custom ops `torch.ops.mhc.static_layer`,
  `torch.ops.mhc.pre` and `torch.ops.mhc.post` (imported on demand, needs
  torch).
"""
from .runtime import (Descriptor, HyperConnectionPlan, MhcError, PostDescriptor,
                      PostPlan)

__all__ = ["Descriptor", "HyperConnectionPlan", "MhcError", "PostDescriptor",
           "PostPlan"]
