"""The IR text of an mhc layer, written once for everything that needs it: the
compiler API (mhc.compiler), the runtime's kernel-library generator
(lib/Runtime/gen_kernel_library.py) and the CPU tests' program generator
(test/CPU/gen_static_layer.py). Standard library only, so build scripts can
import it without the package's native libraries.

    text = static_layer_function("layer", streams=4, channels=4096)
"""

WEIGHT_DTYPES = ("bf16", "f32")
SINKHORN_INITS = ("exp", "softmax")
ORIENTATIONS = ("direct", "transposed")


def convention_attributes(sinkhorn_iters=20, sinkhorn_init="exp", sinkhorn_eps=1e-6,
                          pre_eps=0.0, orientation="direct"):
    """The Sinkhorn, gate and orientation attributes the layers share."""
    if sinkhorn_init not in SINKHORN_INITS:
        raise ValueError(f"sinkhorn_init must be one of {SINKHORN_INITS}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}")
    return (f"sinkhorn_iters = {int(sinkhorn_iters)}, "
            f"sinkhorn_init = #mhc.sinkhorn_init<{sinkhorn_init}>, "
            f"sinkhorn_eps = {sinkhorn_eps:e} : f32, pre_eps = {pre_eps:e} : f32, "
            f"orientation = #mhc.orientation<{orientation}>")


def static_layer_attributes(eps=1e-6, **conventions):
    """The attribute dictionary of mhc.static_layer (without braces)."""
    return f"eps = {eps:e} : f32, " + convention_attributes(**conventions)


def static_layer_function(name, streams, channels=None, weight_dtype="bf16",
                          threads_per_block=None, **conventions):
    """A func.func `name` that applies one mhc.static_layer to its arguments
    (x [?, n, C] f32, h_res [n, n], h_pre [n], h_post [n], weight [C]) and
    returns out. `channels=None` is a dynamic C; `threads_per_block` sets the
    block size of the kernel it lowers to (mhc.threads_per_block);
    `conventions` are static_layer_attributes' keywords."""
    if weight_dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weight_dtype must be one of {WEIGHT_DTYPES}")
    n = int(streams)
    c = "?" if channels is None else str(int(channels))
    x = f"tensor<?x{n}x{c}xf32>"
    w = f"tensor<{c}x{weight_dtype}>"
    h = f"tensor<{n}x{n}xf32>, tensor<{n}xf32>, tensor<{n}xf32>"
    attrs = "" if threads_per_block is None else \
        f" attributes {{mhc.threads_per_block = {int(threads_per_block)} : i64}}"
    return (f"func.func @{name}(%x: {x}, %hr: tensor<{n}x{n}xf32>, %hp: tensor<{n}xf32>, "
            f"%hq: tensor<{n}xf32>, %w: {w}) -> {x}{attrs} {{\n"
            f"  %o = mhc.static_layer %x, %hr, %hp, %hq, %w "
            f"{{{static_layer_attributes(**conventions)}}}\n"
            f"      : {x}, {h}, {w}\n"
            f"  return %o : {x}\n}}\n")


def dynamic_layer_function(name, streams, channels=None, dtype="f32",
                           phi_dtype="f32", weight_dtype="bf16", eps=1e-6,
                           coefficient_eps=1e-6, pre_eps=0.0, sinkhorn_iters=20,
                           sinkhorn_init="exp", sinkhorn_eps=1e-6,
                           orientation="direct"):
    """A func.func `name` that applies one mhc.dynamic_layer (x [?, n, C] of
    `dtype`, phi [n C, n^2 + 2n] of `phi_dtype`, alpha [3], bias [n^2 + 2n],
    weight [C]) and returns out; `channels=None` is a dynamic C."""
    for value, allowed in ((dtype, WEIGHT_DTYPES), (phi_dtype, WEIGHT_DTYPES),
                           (weight_dtype, WEIGHT_DTYPES)):
        if value not in allowed:
            raise ValueError(f"dtypes must be one of {allowed}, got {value}")
    n = int(streams)
    m = n * n + 2 * n
    c = "?" if channels is None else str(int(channels))
    rows = "?" if channels is None else str(n * int(channels))
    x = f"tensor<?x{n}x{c}x{dtype}>"
    types = (f"{x}, tensor<{rows}x{m}x{phi_dtype}>, tensor<3xf32>, tensor<{m}xf32>, "
             f"tensor<{c}x{weight_dtype}>")
    attrs = (f"eps = {eps:e} : f32, coefficient_eps = {coefficient_eps:e} : f32, "
             + convention_attributes(sinkhorn_iters, sinkhorn_init, sinkhorn_eps,
                                     pre_eps, orientation))
    args = ", ".join(f"%{v}: {t}" for v, t in zip(("x", "phi", "alpha", "bias", "w"),
                                                  types.split(", ")))
    return (f"func.func @{name}({args}) -> {x} {{\n"
            f"  %o = mhc.dynamic_layer %x, %phi, %alpha, %bias, %w {{{attrs}}}\n"
            f"      : {types}\n"
            f"  return %o : {x}\n}}\n")


def post_function(name, streams, channels=None, dtype="bf16", sublayer_dtype=None,
                  orientation="direct"):
    """A func.func `name` that applies one mhc.post (x [?, n, C] of `dtype`,
    f [?, C] of `sublayer_dtype` (default: `dtype`), M [?, n, n] and h_post
    [?, n] f32) and returns out; `channels=None` is a dynamic C."""
    sublayer_dtype = sublayer_dtype or dtype
    for value in (dtype, sublayer_dtype):
        if value not in WEIGHT_DTYPES:
            raise ValueError(f"dtypes must be one of {WEIGHT_DTYPES}, got {value}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}")
    n = int(streams)
    c = "?" if channels is None else str(int(channels))
    x = f"tensor<?x{n}x{c}x{dtype}>"
    types = f"{x}, tensor<?x{c}x{sublayer_dtype}>, tensor<?x{n}x{n}xf32>, tensor<?x{n}xf32>"
    args = ", ".join(f"%{v}: {t}" for v, t in zip(("x", "f", "m", "h"), types.split(", ")))
    return (f"func.func @{name}({args}) -> {x} {{\n"
            f"  %o = mhc.post %x, %f, %m, %h "
            f"{{orientation = #mhc.orientation<{orientation}>}}\n"
            f"      : {types}\n"
            f"  return %o : {x}\n}}\n")


def pre_function(name, streams, channels=None, dtype="bf16", phi_dtype=None, eps=1e-6,
                 pre_eps=0.0, sinkhorn_iters=20, sinkhorn_init="exp", sinkhorn_eps=1e-6):
    """A func.func `name` with the pre unit of a dynamic-H layer: mhc.coefficients
    of x [?, n, C] (`dtype`) with phi [n C, n^2 + 2n] (`phi_dtype`, default
    `dtype`), alpha [3] and bias, and the mhc.pre of the same x; returns y,
    h_pre, h_post and M. `channels=None` is a dynamic C."""
    phi_dtype = phi_dtype or dtype
    for value in (dtype, phi_dtype):
        if value not in WEIGHT_DTYPES:
            raise ValueError(f"dtypes must be one of {WEIGHT_DTYPES}, got {value}")
    if sinkhorn_init not in SINKHORN_INITS:
        raise ValueError(f"sinkhorn_init must be one of {SINKHORN_INITS}")
    n = int(streams)
    m = n * n + 2 * n
    c = "?" if channels is None else str(int(channels))
    rows = "?" if channels is None else str(n * int(channels))
    x = f"tensor<?x{n}x{c}x{dtype}>"
    coeffs = f"tensor<?x{n}xf32>, tensor<?x{n}xf32>, tensor<?x{n}x{n}xf32>"
    ins = f"{x}, tensor<{rows}x{m}x{phi_dtype}>, tensor<3xf32>, tensor<{m}xf32>"
    args = ", ".join(f"%{v}: {t}" for v, t in zip(("x", "phi", "alpha", "bias"),
                                                  ins.split(", ")))
    y = f"tensor<?x{c}x{dtype}>"
    attrs = (f"eps = {eps:e} : f32, pre_eps = {pre_eps:e} : f32, "
             f"sinkhorn_iters = {int(sinkhorn_iters)}, "
             f"sinkhorn_init = #mhc.sinkhorn_init<{sinkhorn_init}>, "
             f"sinkhorn_eps = {sinkhorn_eps:e} : f32")
    return (f"func.func @{name}({args}) -> ({y}, {coeffs}) {{\n"
            f"  %hp, %hq, %m = mhc.coefficients %x, %phi, %alpha, %bias {{{attrs}}}\n"
            f"      : {ins} -> {coeffs}\n"
            f"  %y = mhc.pre %x, %hp : {x}, tensor<?x{n}xf32> -> {y}\n"
            f"  return %y, %hp, %hq, %m : {y}, {coeffs}\n}}\n")
