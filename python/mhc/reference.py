"""The static mHC layer written with PyTorch operations (broadcasts, no
einsum): the CPU fallback of the custom op, the eager and torch.compile
baselines of the benchmark, and (in float64) the tests' reference."""
import torch


def sinkhorn(h_res, iters=20, init="exp", eps=1e-6):
    m = torch.exp(h_res - h_res.amax(dim=1, keepdim=True))
    addend = eps if init == "softmax" else 0.0

    def normalize(m, dim, add):
        s = m.sum(dim=dim, keepdim=True) + add
        return torch.where(s > 0, m / torch.where(s > 0, s, torch.ones_like(s)), m)

    m = normalize(m, 1, 0.0)
    if init == "softmax":
        m = m + eps
    m = normalize(m, 0, addend)
    for _ in range(iters - 1):
        m = normalize(normalize(m, 1, addend), 0, addend)
    return m


def static_layer(x, h_res, h_pre, h_post, weight, eps=1e-6, sinkhorn_iters=20,
                 sinkhorn_init="exp", sinkhorn_eps=1e-6, pre_eps=0.0,
                 orientation="direct"):
    """out[b,i,c] = sum_j M'[i,j] x[b,j,c] + s_post[i] * RMSNorm(sum_i s_pre[i] x[b,i,:])[c]."""
    dtype = x.dtype
    m = sinkhorn(h_res.to(dtype), sinkhorn_iters, sinkhorn_init, sinkhorn_eps)
    if orientation == "transposed":
        m = m.t()
    s_pre = torch.sigmoid(h_pre.to(dtype)) + pre_eps
    s_post = 2 * torch.sigmoid(h_post.to(dtype))
    y = (s_pre[None, :, None] * x).sum(dim=1)
    f = y * torch.rsqrt(y.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.to(dtype)
    mixed = (m[None, :, :, None] * x[:, None, :, :]).sum(dim=2)
    return mixed + s_post[None, :, None] * f[:, None, :]
