#!/usr/bin/env python3
"""Writes the fuzzers' inputs into --out:

  corpus-ir/       the IR fuzzer's seeds: every .mlir input of the tests and
                   examples, one file per `// -----` case, comment lines left
                   out (the lit tests are the seeds: a new op's tests seed it);
  corpus-runtime/  the runtime fuzzer's seeds: a few byte strings;
  ir.dict          the IR fuzzer's dictionary: the dialect's op names,
                   attribute names and enum keywords, from the ODS records of
                   MHCOps.td (llvm-tblgen --dump-json), and the MLIR syntax
                   around them;
  corpus.stamp     written last.
"""
import argparse
import hashlib
import json
import os
import random
import shutil

p = argparse.ArgumentParser()
p.add_argument("--records", required=True)
p.add_argument("--tests", required=True)
p.add_argument("--examples", required=True)
p.add_argument("--out", required=True)
a = p.parse_args()

# Seeds of the IR fuzzer.
corpus = os.path.join(a.out, "corpus-ir")
shutil.rmtree(corpus, ignore_errors=True)
os.makedirs(corpus)
count = 0
for root in (a.tests, a.examples):
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not name.endswith(".mlir"):
                continue
            text = open(os.path.join(dirpath, name)).read()
            for case in text.split("// -----"):
                body = "\n".join(l for l in case.splitlines()
                                 if not l.lstrip().startswith("//")).strip()
                if not body:
                    continue
                digest = hashlib.sha1(body.encode()).hexdigest()
                with open(os.path.join(corpus, digest), "w") as f:
                    f.write(body + "\n")
                count += 1

# Seeds of the runtime fuzzer: fixed, so runs are reproducible.
runtime = os.path.join(a.out, "corpus-runtime")
shutil.rmtree(runtime, ignore_errors=True)
os.makedirs(runtime)
rng = random.Random(1)
for k in range(16):
    with open(os.path.join(runtime, f"seed{k}"), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(64 + 16 * k)))

# The dictionary.
records = json.load(open(a.records))
words = set()
for name in records["!instanceof"].get("Op", []):
    r = records[name]
    if r.get("opDialect", {}).get("def") != "MHC_Dialect":
        continue
    words.add("mhc." + r["opName"])
    args = r.get("arguments", {}).get("args", [])
    for arg in args:
        words.add(arg[1])
for name in records["!instanceof"].get("EnumAttr", []):
    r = records[name]
    enum = records[r["enum"]["def"]]
    for case in enum["enumerants"]:
        words.add(f"#mhc.{r['mnemonic']}<{records[case['def']]['str']}>")
words.update([
    "func.func", "return", "tensor<", "xf32>", "xbf16>", "?x", "f32", "bf16",
    " : f32", " : i64", "->", "%", "@", "{", "}", "(", ")", "ins(", "mhc.yield",
    "mhc.threads_per_block", "attributes", "1.0e-06", "-1.0e+30", "0x7FC00000",
])
with open(os.path.join(a.out, "ir.dict"), "w") as f:
    for w in sorted(words):
        f.write('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"\n')
with open(os.path.join(a.out, "corpus.stamp"), "w") as f:
    f.write(f"{count} IR seeds, {len(words)} dictionary words\n")
