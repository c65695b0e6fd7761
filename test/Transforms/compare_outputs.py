#!/usr/bin/env python3
"""Compares the numbers two runs printed (printMemrefF32 output): the same
count, every |a - b| <= tol * max(1, max |a|). Prints one verdict line."""
import re
import sys


def numbers(path):
    text = open(path).read()
    values = []
    for block in text.split("data =")[1:]:
        values += [float(v) for v in re.findall(r"-?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)", block)]
    return values


a, b = numbers(sys.argv[1]), numbers(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
scale = max([1.0] + [abs(v) for v in a])
worst = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
ok = len(a) == len(b) and len(a) > 0 and worst <= tol * scale
print(f"values: {len(a)} vs {len(b)} max_abs_diff: {worst:.3e} same: {int(ok)}")
sys.exit(0 if ok else 1)
