"""The mHC layers written with PyTorch operations (broadcasts, no einsum):
the CPU fallback of the custom ops, the eager and torch.compile baselines of
the benchmark, and (in float64) the tests' reference. The static layer
(static_layer), and the dynamic-H parts (coefficients, pre, post) with the
whole dynamic_layer; the math of docs/../mhc-spec.md, Tier 2."""
import torch


def sinkhorn(h_res, iters=20, init="exp", eps=1e-6):
    """Sinkhorn on the last two dimensions ([n, n], or [B, n, n] per token)."""
    m = torch.exp(h_res - h_res.amax(dim=-1, keepdim=True))
    addend = eps if init == "softmax" else 0.0

    def normalize(m, dim, add):
        s = m.sum(dim=dim, keepdim=True) + add
        return torch.where(s > 0, m / torch.where(s > 0, s, torch.ones_like(s)), m)

    m = normalize(m, -1, 0.0)
    if init == "softmax":
        m = m + eps
    m = normalize(m, -2, addend)
    for _ in range(iters - 1):
        m = normalize(normalize(m, -1, addend), -2, addend)
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


def coefficients(x, phi, alpha, bias, eps=1e-6, pre_eps=0.0, sinkhorn_iters=20,
                 sinkhorn_init="exp", sinkhorn_eps=1e-6, dtype=torch.float32):
    """mhc.coefficients: per-token h_pre [B, n], h_post [B, n] and M [B, n, n]
    from x [B, n, C] and phi [n C, n^2 + 2n], computed in `dtype`."""
    b, n, c = x.shape
    xf = x.reshape(b, n * c).to(dtype)
    r = torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)
    mix = (xf @ phi.to(dtype)) * r
    alpha, bias = alpha.to(dtype), bias.to(dtype)
    h_pre = torch.sigmoid(alpha[0] * mix[:, :n] + bias[:n]) + pre_eps
    h_post = 2 * torch.sigmoid(alpha[1] * mix[:, n:2 * n] + bias[n:2 * n])
    logits = (alpha[2] * mix[:, 2 * n:] + bias[2 * n:]).reshape(b, n, n)
    return h_pre, h_post, sinkhorn(logits, sinkhorn_iters, sinkhorn_init, sinkhorn_eps)


def pre(x, h_pre, dtype=torch.float32):
    """mhc.pre: y[b, c] = sum_i h_pre[b, i] x[b, i, c], in `dtype`."""
    return (h_pre.to(dtype)[:, :, None] * x.to(dtype)).sum(dim=1)


def post(x, f, m, h_post, orientation="direct", dtype=torch.float32):
    """mhc.post: out[b, i, c] = sum_j M'[b, i, j] x[b, j, c] + h_post[b, i] f[b, c]."""
    m = m.to(dtype)
    if orientation == "transposed":
        m = m.transpose(1, 2)
    mixed = (m[:, :, :, None] * x.to(dtype)[:, None, :, :]).sum(dim=2)
    return mixed + h_post.to(dtype)[:, :, None] * f.to(dtype)[:, None, :]


def dynamic_layer(x, phi, alpha, bias, weight, eps=1e-6, coefficient_eps=1e-6,
                  pre_eps=0.0, sinkhorn_iters=20, sinkhorn_init="exp",
                  sinkhorn_eps=1e-6, orientation="direct", dtype=torch.float32):
    """mhc.dynamic_layer: coefficients, pre, F = RMSNorm(y) * weight, post, in
    `dtype`; y and f are rounded to x's dtype where that is narrower (the
    interfaces the ops define), and so is the result."""
    h_pre, h_post, m = coefficients(x, phi, alpha, bias, coefficient_eps, pre_eps,
                                    sinkhorn_iters, sinkhorn_init, sinkhorn_eps, dtype)
    y = pre(x, h_pre, dtype).to(x.dtype).to(dtype)
    f = y * torch.rsqrt(y.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.to(dtype)
    f = f.to(x.dtype).to(dtype)
    return post(x, f, m, h_post, orientation, dtype).to(x.dtype)
