#!/usr/bin/env python3
"""Writes mHC math the way a front end that lowers to linalg on tensors
writes it (one linalg op per tensor op: linalg.generic with broadcasting
maps, named reductions, batch_matmul), for --mhc-raise-from-linalg.

--part layer writes func @layer(x, h_res, h_pre, h_post, w) -> out, the
static layer with the signature of mhc.ir.static_layer_function (so
test/CPU/gen_static_layer.py can run it); the other parts write one piece
each. --near-miss writes a computation that differs from the mhc op in one
detail, which the raising must leave alone.
"""
import argparse
import re

NEAR_MISSES = [
    "second-eps",      # one normalization adds another eps
    "no-softmax-eps",  # softmax convention without the eps after the softmax
    "column-max",      # exp(H - colmax(H)): not the row maximum
    "wrong-dim",       # row sums divided along the columns
    "extra-user",      # an intermediate of Sinkhorn is also returned
    "mean-size",       # RMSNorm divides the sum of squares by C + 1
    "rms-eps-twice",   # RMSNorm adds eps twice
    "rms-columns",     # RMSNorm's sum of squares over tokens, not channels
    "gate-constant",   # sigmoid as 1 / (2 + exp(-h))
    "mix-index",       # the mix contracts M with x[b, i, c] instead of x[b, j, c]
    "aggregate-extra-user",  # the product before the stream sum has another user
    "static-coeffs",   # per-token matrices in the post, one coefficient per stream
    "double-rounding", # bf16 post: M x rounded to bf16 before s * f is added
]


class Writer:
    def __init__(self):
        self.lines = []
        self.count = 0

    def fresh(self, stem="v"):
        self.count += 1
        return f"%{stem}{self.count}"

    def emit(self, line):
        self.lines.append("  " + line)

    def const(self, value, type_="f32"):
        v = self.fresh("cst")
        if type_ == "f32":
            text = "0xFF800000" if value == "-inf" else f"{float(value):.9e}"
            self.emit(f"{v} = arith.constant {text} : f32")
        else:
            self.emit(f"{v} = arith.constant {value} : {type_}")
        return v


def tensor(shape, elem="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + f"x{elem}>"


def dims_text(n):
    return ", ".join(f"d{i}" for i in range(n))


def amap(n, results):
    return f"affine_map<({dims_text(n)}) -> ({', '.join(results)})>"


class Layer:
    def __init__(self, a, w):
        self.a, self.w = a, w
        self.n = a.n
        self.c = "?" if a.c is None else a.c
        self.dyn = {}  # name -> SSA of a dynamic size
        self.per_token = False  # the dynamic-H pre / post: h[b, i], M[b]
        # Activations: --dtype for the pre and post parts, f32 elsewhere.
        self.dtype = a.dtype if a.part in ("pre", "post") else "f32"

    def coeff_type(self):
        return tensor(["?", self.n]) if self.per_token else tensor([self.n])

    def matrix_type(self):
        return tensor(["?", self.n, self.n]) if self.per_token else tensor([self.n, self.n])

    # -- tensors ----------------------------------------------------------
    def empty(self, shape, sources, elem="f32"):
        """tensor.empty of `shape`; '?' dims take the SSA values in sources."""
        v = self.w.fresh("e")
        args = ", ".join(sources)
        self.w.emit(f"{v} = tensor.empty({args}) : {tensor(shape, elem)}")
        return v

    def filled(self, shape, sources, value):
        e = self.empty(shape, sources)
        c = self.w.const(value)
        v = self.w.fresh("z")
        self.w.emit(f"{v} = linalg.fill ins({c} : f32) outs({e} : {tensor(shape)}) -> {tensor(shape)}")
        return v

    def generic(self, ins, outs_value, out_shape, maps, iterators, body, ins_types, out_elem="f32"):
        """body(args) -> list of lines using args (names) and returning the
        yielded name as last element."""
        v = self.w.fresh()
        nloops = len(iterators)
        maps_text = ", ".join(amap(nloops, m) for m in maps)
        its = ", ".join(f'"{i}"' for i in iterators)
        ins_text = ", ".join(ins)
        self.w.emit(f"{v} = linalg.generic {{indexing_maps = [{maps_text}], iterator_types = [{its}]}}")
        self.w.emit(f"    ins({ins_text} : {', '.join(ins_types)}) outs({outs_value} : {tensor(out_shape, out_elem)}) {{")
        args = [f"%a{i}" for i in range(len(ins) + 1)]
        elems = [t.split("x")[-1].rstrip(">") for t in ins_types] + [out_elem]
        self.w.emit("  ^bb0(" + ", ".join(f"{a}: {e}" for a, e in zip(args, elems)) + "):")
        lines, result = body(args)
        # Region values must not shadow the function's (%x, %s, ...).
        local = re.compile(r"%(x|r|q|s|p|o|ng|ex|dn|sg|sc|bs|mean|me2|me|wf|t|sq|xw|fw|ow|mr|mx)\b")
        for line in lines:
            self.w.emit("    " + local.sub(r"%l_\1", line))
        result = local.sub(r"%l_\1", result)
        self.w.emit(f"    linalg.yield {result} : {out_elem}")
        self.w.emit(f"  }} -> {tensor(out_shape, out_elem)}")
        return v

    # -- Sinkhorn -----------------------------------------------------------
    def line_sums(self, m, keep, combiner="addf", init=0.0):
        n = self.n
        z = self.filled([n], [], init)
        if self.a.reductions == "reduce":
            v = self.w.fresh()
            op = "arith.addf" if combiner == "addf" else "arith.maximumf"
            self.w.emit(f"{v} = linalg.reduce ins({m} : {tensor([n, n])}) outs({z} : {tensor([n])}) dimensions = [{1 - keep}]")
            self.w.emit(f"  (%in: f32, %init: f32) {{")
            self.w.emit(f"    %r = {op} %in, %init : f32")
            self.w.emit(f"    linalg.yield %r : f32")
            self.w.emit(f"  }}")
            return v
        out = ["d0"] if keep == 0 else ["d1"]
        its = ["parallel", "reduction"] if keep == 0 else ["reduction", "parallel"]
        op = "arith.addf" if combiner == "addf" else "arith.maximumf"
        return self.generic([m], z, [n], [["d0", "d1"], out], its,
                            lambda a: ([f"%r = {op} {a[0]}, {a[1]} : f32"], "%r"),
                            [tensor([n, n])])

    def normalize(self, m, dim, addend, broadcast_dim=None):
        n = self.n
        sums = self.line_sums(m, dim)
        bdim = dim if broadcast_dim is None else broadcast_dim
        e = self.empty([n, n], [])
        eps = self.w.const(addend) if addend else None

        def body(a):
            if eps:
                return ([f"%s = arith.addf {a[1]}, {eps} : f32",
                          f"%q = arith.divf {a[0]}, %s : f32"], "%q")
            return ([f"%q = arith.divf {a[0]}, {a[1]} : f32"], "%q")
        return self.generic([m, sums], e, [n, n], [["d0", "d1"], [f"d{bdim}"], ["d0", "d1"]],
                            ["parallel", "parallel"], body, [tensor([n, n]), tensor([n])])

    def add_constant(self, m, value):
        n = self.n
        c = self.w.const(value)
        e = self.empty([n, n], [])
        return self.generic([m], e, [n, n], [["d0", "d1"], ["d0", "d1"]], ["parallel", "parallel"],
                            lambda a: ([f"%p = arith.addf {a[0]}, {c} : f32"], "%p"), [tensor([n, n])])

    def sinkhorn(self, h):
        a, n, miss = self.a, self.n, self.a.near_miss
        softmax = a.init == "softmax"
        eps = a.sinkhorn_eps if softmax else 0.0
        extra = None
        if a.sinkhorn_form == "softmax-op":
            e = self.empty([n, n], [])
            m = self.w.fresh()
            self.w.emit(f"{m} = linalg.softmax dimension(1) ins({h} : {tensor([n, n])}) outs({e} : {tensor([n, n])}) -> {tensor([n, n])}")
        else:
            if a.max_shift or miss == "column-max":
                mx = self.line_sums(h, 1 if miss == "column-max" else 0, "maximumf", "-inf")
                e = self.empty([n, n], [])
                m = self.generic([h, mx], e, [n, n], [["d0", "d1"], ["d0"], ["d0", "d1"]],
                                 ["parallel", "parallel"],
                                 lambda a_: ([f"%s = arith.subf {a_[0]}, {a_[1]} : f32",
                                              "%x = math.exp %s : f32"], "%x"),
                                 [tensor([n, n]), tensor([n])])
            else:
                e = self.empty([n, n], [])
                m = self.generic([h], e, [n, n], [["d0", "d1"], ["d0", "d1"]], ["parallel", "parallel"],
                                 lambda a_: (["%x = math.exp " + a_[0] + " : f32"], "%x"),
                                 [tensor([n, n])])
            m = self.normalize(m, 0, 0.0)
        if softmax and miss != "no-softmax-eps":
            m = self.add_constant(m, eps)
        if miss == "extra-user":
            extra = m
        m = self.normalize(m, 1, eps, broadcast_dim=0 if miss == "wrong-dim" else None)
        rounds = a.iters - 1
        last_eps = 10 * eps if miss == "second-eps" and softmax else eps
        if a.sinkhorn_form == "loop" and rounds > 0:
            lb, ub, st = self.w.fresh("i"), self.w.fresh("i"), self.w.fresh("i")
            self.w.emit(f"{lb} = arith.constant 1 : index")
            self.w.emit(f"{ub} = arith.constant {a.iters} : index")
            self.w.emit(f"{st} = arith.constant 1 : index")
            it, res = self.w.fresh("it"), self.w.fresh("loop")
            self.w.emit(f"{res} = scf.for %k = {lb} to {ub} step {st} iter_args({it} = {m}) -> ({tensor([n, n])}) {{")
            r = self.normalize(it, 0, eps)
            r = self.normalize(r, 1, eps)
            self.w.emit(f"  scf.yield {r} : {tensor([n, n])}")
            self.w.emit("}")
            m = res
            if miss == "second-eps":
                m = self.normalize(m, 0, last_eps)
                m = self.normalize(m, 1, last_eps)
        else:
            for i in range(rounds):
                addend = last_eps if i == rounds - 1 else eps
                m = self.normalize(m, 0, addend)
                m = self.normalize(m, 1, addend)
        return m, extra

    # -- gates, aggregation, RMSNorm, mix ----------------------------------
    def gate(self, h, scale, bias):
        n, one = self.n, self.w.const(1.0)
        denominator_one = self.w.const(2.0) if self.a.near_miss == "gate-constant" else one
        consts = {}
        if scale != 1.0:
            consts["scale"] = self.w.const(scale)
        if bias != 0.0:
            consts["bias"] = self.w.const(bias)

        def sigmoid(a):
            return ([f"%ng = arith.negf {a[0]} : f32", "%ex = math.exp %ng : f32",
                     f"%dn = arith.addf {denominator_one}, %ex : f32",
                     f"%sg = arith.divf {one}, %dn : f32"], "%sg")
        maps = [["d0"], ["d0"]]
        if self.a.gate_form == "chained":
            s = self.generic([h], self.empty([n], []), [n], maps, ["parallel"], sigmoid, [tensor([n])])
            if "scale" in consts:
                s = self.generic([s], self.empty([n], []), [n], maps, ["parallel"],
                                 lambda a: ([f"%p = arith.mulf {consts['scale']}, {a[0]} : f32"], "%p"),
                                 [tensor([n])])
            if "bias" in consts:
                s = self.generic([s], self.empty([n], []), [n], maps, ["parallel"],
                                 lambda a: ([f"%p = arith.addf {a[0]}, {consts['bias']} : f32"], "%p"),
                                 [tensor([n])])
            return s

        def body(a):
            lines, r = sigmoid(a)
            if "scale" in consts:
                lines.append(f"%sc = arith.mulf {r}, {consts['scale']} : f32")
                r = "%sc"
            if "bias" in consts:
                lines.append(f"%bs = arith.addf {r}, {consts['bias']} : f32")
                r = "%bs"
            return lines, r
        return self.generic([h], self.empty([n], []), [n], maps, ["parallel"], body, [tensor([n])])

    def rows(self):
        return [self.dyn["b"]] + ([self.dyn["c"]] if self.c == "?" else [])

    def aggregate(self, x, s):
        n, c = self.n, self.c
        z = self.filled(["?", c], self.rows(), 0.0)
        xt = tensor(["?", n, c])
        if self.a.near_miss == "aggregate-extra-user" or self.a.aggregate_form == "mul-then-sum":
            e = self.empty(["?", n, c], self.rows())
            p = self.generic([x, s], e, ["?", n, c],
                             [["d0", "d1", "d2"], ["d0", "d1"] if self.per_token else ["d1"], ["d0", "d1", "d2"]],
                             ["parallel"] * 3, lambda a: ([f"%p = arith.mulf {a[0]}, {a[1]} : f32"], "%p"),
                             [xt, self.coeff_type()])
            y = self.generic([p], z, ["?", c], [["d0", "d1", "d2"], ["d0", "d2"]],
                             ["parallel", "reduction", "parallel"],
                             lambda a: ([f"%r = arith.addf {a[1]}, {a[0]} : f32"], "%r"), [xt])
            return y, (p if self.a.near_miss == "aggregate-extra-user" else None)
        bf16 = self.dtype == "bf16"
        xt = tensor(["?", n, c], self.dtype)
        widen = [f"%xw = arith.extf {{}} : bf16 to f32"] if bf16 else []

        def body(a):
            xv = "%xw" if bf16 else a[0]
            return ([w_.format(a[0]) for w_ in widen] +
                    [f"%p = arith.mulf {xv}, {a[1]} : f32",
                     f"%r = arith.addf {a[2]}, %p : f32"], "%r")
        y = self.generic([x, s], z, ["?", c],
                         [["d0", "d2", "d1"], ["d0", "d2"] if self.per_token else ["d2"], ["d0", "d1"]],
                         ["parallel", "parallel", "reduction"], body, [xt, self.coeff_type()])
        if bf16:
            e = self.empty(["?", c], self.rows(), "bf16")
            y = self.generic([y], e, ["?", c], [["d0", "d1"], ["d0", "d1"]], ["parallel", "parallel"],
                             lambda a: ([f"%ow = arith.truncf {a[0]} : f32 to bf16"], "%ow"),
                             [tensor(["?", c])], out_elem="bf16")
        return y, None

    def rms_norm(self, y, w, wtype):
        a, c, miss = self.a, self.c, self.a.near_miss
        yt = tensor(["?", c])
        rows_ss = [self.dyn["b"]]
        if miss == "rms-columns":
            ss = self.generic([y], self.filled([c], [self.dyn["c"]] if c == "?" else [], 0.0), [c],
                              [["d0", "d1"], ["d1"]], ["reduction", "parallel"],
                              lambda a_: ([f"%q = arith.mulf {a_[0]}, {a_[0]} : f32",
                                           f"%r = arith.addf {a_[1]}, %q : f32"], "%r"), [yt])
            ss_map = ["d1"]
        else:
            ss = self.generic([y], self.filled(["?"], rows_ss, 0.0), ["?"],
                              [["d0", "d1"], ["d0"]], ["parallel", "reduction"],
                              lambda a_: ([f"%q = arith.mulf {a_[0]}, {a_[0]} : f32",
                                           f"%r = arith.addf {a_[1]}, %q : f32"], "%r"), [yt])
            ss_map = ["d0"]
        eps = self.w.const(a.eps)
        size_extra = 1 if miss == "mean-size" else 0
        if c == "?" and not size_extra:
            one = self.w.fresh("i")
            self.w.emit(f"{one} = arith.constant 1 : index")
            d, i, f = self.w.fresh("d"), self.w.fresh("i"), self.w.fresh("cf")
            self.w.emit(f"{d} = tensor.dim {y}, {one} : {yt}")
            self.w.emit(f"{i} = arith.index_cast {d} : index to i64")
            self.w.emit(f"{f} = arith.sitofp {i} : i64 to f32")
            size, mean_op = f, "arith.divf"
        elif a.rms_form == "rsqrt":
            size, mean_op = self.w.const(1.0 / ((a.c or 1) + size_extra)), "arith.mulf"
        else:
            size, mean_op = self.w.const(float((a.c or 1) + size_extra)), "arith.divf"
        wt = tensor([c], wtype)
        e = self.empty(["?", c], self.rows())

        def body(args):
            lines = [f"%mean = {mean_op} {args[1]}, {size} : f32",
                     f"%me = arith.addf %mean, {eps} : f32"]
            if miss == "rms-eps-twice":
                lines.append(f"%me2 = arith.addf %me, {eps} : f32")
                me = "%me2"
            else:
                me = "%me"
            wv = args[2]
            if wtype == "bf16":
                lines.append(f"%wf = arith.extf {args[2]} : bf16 to f32")
                wv = "%wf"
            if a.rms_form == "rsqrt":
                lines += [f"%r = math.rsqrt {me} : f32", f"%t = arith.mulf {args[0]}, %r : f32"]
            else:
                lines += [f"%sq = math.sqrt {me} : f32", f"%t = arith.divf {args[0]}, %sq : f32"]
            lines.append(f"%o = arith.mulf %t, {wv} : f32")
            return lines, "%o"
        return self.generic([y, ss, w], e, ["?", c], [["d0", "d1"], ss_map, ["d1"], ["d0", "d1"]],
                            ["parallel", "parallel"], body, [yt, tensor(["?"] if ss_map == ["d0"] else [c]), wt])

    def mix(self, x, m, s, f):
        a, n, c = self.a, self.n, self.c
        bf16 = self.dtype == "bf16"
        xt = tensor(["?", n, c], self.dtype)
        transposed = a.orientation == "transposed"
        per_token = self.per_token
        mt_type = self.matrix_type()
        z = self.filled(["?", n, c], self.rows(), 0.0)
        if a.mix_form == "batch_matmul":
            if transposed:
                e = self.empty(["?", n, n] if per_token else [n, n], [self.dyn["b"]] if per_token else [])
                mt = self.w.fresh()
                perm = "[0, 2, 1]" if per_token else "[1, 0]"
                self.w.emit(f"{mt} = linalg.transpose ins({m} : {mt_type}) outs({e} : {mt_type}) permutation = {perm}")
                m = mt
            if not per_token:
                e = self.empty(["?", n, n], [self.dyn["b"]])
                mb = self.w.fresh()
                self.w.emit(f"{mb} = linalg.broadcast ins({m} : {tensor([n, n])}) outs({e} : {tensor(['?', n, n])}) dimensions = [0]")
                m = mb
            mm = self.w.fresh()
            zt = tensor(["?", n, c])
            self.w.emit(f"{mm} = linalg.batch_matmul ins({m}, {x} : {tensor(['?', n, n])}, {xt}) outs({z} : {zt}) -> {zt}")
        else:
            mmap = ["d3", "d1"] if transposed else ["d1", "d3"]
            if per_token:
                mmap = ["d0"] + mmap
            xmap = ["d0", "d1", "d2"] if a.near_miss == "mix-index" else ["d0", "d3", "d2"]
            mm = self.generic([x, m], z, ["?", n, c], [xmap, mmap, ["d0", "d1", "d2"]],
                              ["parallel", "parallel", "parallel", "reduction"],
                              lambda a_: (([f"%xw = arith.extf {a_[0]} : bf16 to f32"] if bf16 else []) +
                                          [f"%p = arith.mulf {a_[1]}, {'%xw' if bf16 else a_[0]} : f32",
                                           f"%r = arith.addf {a_[2]}, %p : f32"], "%r"),
                              [xt, mt_type])
        e = self.empty(["?", n, c], self.rows(), self.dtype)
        static_s = not per_token or a.near_miss == "static-coeffs"

        def add(a_):
            fv = "%fw" if bf16 else a_[2]
            lines = ([f"%fw = arith.extf {a_[2]} : bf16 to f32"] if bf16 else [])
            mv = a_[0]
            if a.near_miss == "double-rounding":
                lines += [f"%mr = arith.truncf {a_[0]} : f32 to bf16", "%mx = arith.extf %mr : bf16 to f32"]
                mv = "%mx"
            lines += [f"%p = arith.mulf {a_[1]}, {fv} : f32", f"%o = arith.addf {mv}, %p : f32"]
            if bf16:
                return lines + ["%ow = arith.truncf %o : f32 to bf16"], "%ow"
            return lines, "%o"
        return self.generic([mm, s, f], e, ["?", n, c],
                            [["d0", "d1", "d2"], ["d1"] if static_s else ["d0", "d1"], ["d0", "d2"],
                             ["d0", "d1", "d2"]],
                            ["parallel"] * 3, add,
                            [tensor(["?", n, c]), tensor([n]) if static_s else tensor(["?", n]),
                             tensor(["?", c], self.dtype)], out_elem=self.dtype)

    def sizes(self, x):
        c0 = self.w.fresh("i")
        self.w.emit(f"{c0} = arith.constant 0 : index")
        self.dyn["b"] = self.w.fresh("b")
        self.w.emit(f"{self.dyn['b']} = tensor.dim {x}, {c0} : {tensor(['?', self.n, self.c], self.dtype)}")
        if self.c == "?":
            c2 = self.w.fresh("i")
            self.w.emit(f"{c2} = arith.constant 2 : index")
            self.dyn["c"] = self.w.fresh("c")
            self.w.emit(f"{self.dyn['c']} = tensor.dim {x}, {c2} : {tensor(['?', self.n, self.c], self.dtype)}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--part", default="layer",
                   choices=["layer", "sinkhorn", "gate", "aggregate", "rms-norm", "mix",
                            "pre", "post"])
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--c", type=int, help="channels; omitted: dynamic")
    p.add_argument("--weight", choices=["f32", "bf16"], default="bf16")
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32",
                   help="activations (x, f, y, out) of --part pre / post")
    p.add_argument("--init", choices=["exp", "softmax"], default="exp")
    p.add_argument("--orientation", choices=["direct", "transposed"], default="direct")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--sinkhorn-eps", type=float, default=1e-6)
    p.add_argument("--pre-eps", type=float, default=0.0)
    p.add_argument("--sinkhorn-form", choices=["loop", "unrolled", "softmax-op"], default="loop")
    p.add_argument("--max-shift", action="store_true", help="exp(H - rowmax(H))")
    p.add_argument("--reductions", choices=["generic", "reduce"], default="generic")
    p.add_argument("--gate-form", choices=["fused", "chained"], default="fused")
    p.add_argument("--aggregate-form", choices=["contraction", "mul-then-sum"], default="contraction")
    p.add_argument("--rms-form", choices=["rsqrt", "divide"], default="rsqrt")
    p.add_argument("--mix-form", choices=["generic", "batch_matmul"], default="generic")
    p.add_argument("--near-miss", choices=NEAR_MISSES)
    p.add_argument("--name", default=None)
    p.add_argument("--main", type=int, metavar="B",
                   help="also write a main that runs the function on random "
                        "inputs with B tokens and prints its results "
                        "(test/Transforms/compare_outputs.py compares runs)")
    a = p.parse_args()

    w = Writer()
    L = Layer(a, w)
    n, c = a.n, L.c
    xt, wt = tensor(["?", n, c]), tensor([c], a.weight)
    name = a.name or a.part.replace("-", "_")
    if a.part == "layer":
        header = (f"func.func @{name}(%x: {xt}, %hr: {tensor([n, n])}, %hp: {tensor([n])}, "
                  f"%hq: {tensor([n])}, %w: {wt}) -> {xt}")
        L.sizes("%x")
        m, _ = L.sinkhorn("%hr")
        sp = L.gate("%hp", 1.0, a.pre_eps)
        sq = L.gate("%hq", 2.0, 0.0)
        y, _ = L.aggregate("%x", sp)
        f = L.rms_norm(y, "%w", a.weight)
        out = L.mix("%x", m, sq, f)
        results, types = [out], [xt]
    elif a.part == "sinkhorn":
        m, extra = L.sinkhorn("%hr")
        header = f"func.func @{name}(%hr: {tensor([n, n])}) -> "
        results = [m] + ([extra] if extra else [])
        types = [tensor([n, n])] * len(results)
    elif a.part == "gate":
        header = f"func.func @{name}(%h: {tensor([n])}) -> "
        results, types = [L.gate("%h", 2.0, a.pre_eps)], [tensor([n])]
    elif a.part == "aggregate":
        header = f"func.func @{name}(%x: {xt}, %s: {tensor([n])}) -> "
        L.sizes("%x")
        y, extra = L.aggregate("%x", "%s")
        results = [y] + ([extra] if extra else [])
        types = [tensor(["?", c])] + ([xt] if extra else [])
    elif a.part == "rms-norm":
        header = f"func.func @{name}(%x: {xt}, %y: {tensor(['?', c])}, %w: {wt}) -> "
        L.sizes("%x")
        results, types = [L.rms_norm("%y", "%w", a.weight)], [tensor(["?", c])]
    elif a.part == "pre":
        L.per_token = True
        xt = tensor(["?", n, c], a.dtype)
        header = f"func.func @{name}(%x: {xt}, %h: {tensor(['?', n])}) -> "
        L.sizes("%x")
        y, extra = L.aggregate("%x", "%h")
        results = [y] + ([extra] if extra else [])
        types = [tensor(["?", c], a.dtype)] + ([xt] if extra else [])
    else:
        L.per_token = a.part == "post"
        xt = tensor(["?", n, c], L.dtype)
        s_type = tensor([n]) if a.near_miss == "static-coeffs" else L.coeff_type()
        header = (f"func.func @{name}(%x: {xt}, %m: {L.matrix_type()}, %s: {s_type}, "
                  f"%f: {tensor(['?', c], L.dtype)}) -> ")
        L.sizes("%x")
        results, types = [L.mix("%x", "%m", "%s", "%f")], [xt]
    if a.part != "layer":
        header += "(" + ", ".join(types) + ")"
    print(header + " {")
    print("\n".join(w.lines))
    print(f"  return {', '.join(results)} : {', '.join(types)}")
    print("}")
    if a.main:
        print(main_function(name, header, types, a.main, a.c))


def main_function(name, header, result_types, tokens, channels):
    """@main: random arguments (RunnerSupport's fills), one call, every
    result printed with printMemrefF32."""
    def concrete(t):
        dims, elem = t[len("tensor<"):-1].split("x")[:-1], t[:-1].split("x")[-1]
        dims = [str(tokens) if d == "?" and i == 0 else
                (str(channels or 8) if d == "?" else d) for i, d in enumerate(dims)]
        return "x".join(dims) + "x" + elem, elem
    args = re.findall(r"%(\w+): (tensor<[^>]+>)", header.split(") ->")[0])
    lines = ["func.func private @mhcFillRandomF32(memref<*xf32>, i64, f32, f32) attributes {llvm.emit_c_interface}",
             "func.func private @mhcFillRandomBF16(memref<*xbf16>, i64, f32, f32) attributes {llvm.emit_c_interface}",
             "func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}",
             "func.func @main() {",
             "  %lo = arith.constant -2.0 : f32", "  %hi = arith.constant 2.0 : f32"]
    call_args = []
    for k, (arg, t) in enumerate(args):
        shape, elem = concrete(t)
        lines += [f"  %m{k} = memref.alloc() : memref<{shape}>",
                  f"  %u{k} = memref.cast %m{k} : memref<{shape}> to memref<*x{elem}>",
                  f"  %seed{k} = arith.constant {k + 1} : i64",
                  f"  call @mhcFillRandom{elem.upper()}(%u{k}, %seed{k}, %lo, %hi) : (memref<*x{elem}>, i64, f32, f32) -> ()",
                  f"  %t{k} = bufferization.to_tensor %m{k} restrict : memref<{shape}> to tensor<{shape}>",
                  f"  %a{k} = tensor.cast %t{k} : tensor<{shape}> to {t}"]
        call_args.append(f"%a{k}")
    outs = [f"%r{k}" for k in range(len(result_types))]
    lines.append(f"  {', '.join(outs)} = call @{name}({', '.join(call_args)}) : "
                 f"({', '.join(t for _, t in args)}) -> ({', '.join(result_types)})")
    for k, t in enumerate(result_types):
        if t.endswith("xbf16>"):
            wide = t[:-len("bf16>")] + "f32>"
            lines.append(f"  %w{k} = arith.extf %r{k} : {t} to {wide}")
            outs[k], t = f"%w{k}", wide
        lines += [f"  %b{k} = bufferization.to_buffer {outs[k]} : {t} to memref<{t[len('tensor<'):]}",
                  f"  %p{k} = memref.cast %b{k} : memref<{t[len('tensor<'):]} to memref<*xf32>",
                  f"  call @printMemrefF32(%p{k}) : (memref<*xf32>) -> ()"]
    lines += ["  return", "}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
