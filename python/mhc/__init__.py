"""mhc: manifold-constrained Hyper-Connections, compiled.

- `mhc.HyperConnectionPlan` / `mhc.Descriptor`: the runtime's plan API over
  the static layer's kernels mhc-opt generated (needs libmhc_runtime.so);
  `mhc.PrePlan` / `mhc.PreDescriptor` and `mhc.PostPlan` /
  `mhc.PostDescriptor` the same for the dynamic-H pre and post.
- `mhc.torch_ops`: the PyTorch custom ops `torch.ops.mhc.static_layer`,
  `torch.ops.mhc.pre` and `torch.ops.mhc.post` (imported on demand, needs
  torch).
"""
from .runtime import (Descriptor, HyperConnectionPlan, MhcError, PostDescriptor,
                      PostPlan, PreDescriptor, PrePlan)

__all__ = ["Descriptor", "HyperConnectionPlan", "MhcError", "PostDescriptor",
           "PostPlan", "PreDescriptor", "PrePlan"]
