#!/usr/bin/env bash
# On the GPU machine: runs every prepared kernel (scripts/gpu-prepare.sh) on
# random inputs against the float64 reference, over batch sizes and both
# conventions, then compute-sanitizer memcheck and racecheck on a few.
# usage: gpu-check.sh <prepared dir> <results dir>
set -uo pipefail
dir=$(cd "${1:-.device}" && pwd)
res="${2:-$dir/results}"
mkdir -p "$res"
check="$dir/fused_kernel_check"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$res/card.txt"
pass=0; fail=0
while read -r ptx entry n c w kind; do
  # Dynamic-C kernels run at several C; static ones at their own.
  cs="$c"; [ "$kind" = dynamic ] && cs="1000 64 4096"
  for cc in $cs; do
    for b in 1 7 1024; do
      for conv in "exp direct 0" "softmax transposed 0" "exp direct 1000" "softmax transposed -1000"; do
        set -- $conv
        if "$check" "$dir/kernels/$ptx" "$entry" "$n" "$cc" "$b" "$w" "$1" "$2" "$3" >> "$res/check.log" 2>&1; then
          pass=$((pass+1)); else fail=$((fail+1)); fi
      done
    done
  done
done < "$dir/kernels/manifest"
grep -h FAIL "$res/check.log" | head -20
echo "== sanitizer"
san=/usr/local/cuda/bin/compute-sanitizer
while read -r ptx entry n c w kind; do
  case "$ptx" in n4_c4096*|n3_c37*|n4_c1000*) ;; *) continue;; esac
  for tool in memcheck racecheck; do
    if "$san" --tool "$tool" --error-exitcode 9 "$check" "$dir/kernels/$ptx" "$entry" "$n" "$c" 7 "$w" exp direct 0 > "$res/san_${tool}_${n}_${c}.log" 2>&1; then
      echo "$tool $ptx: clean"; pass=$((pass+1))
    else
      echo "$tool $ptx: ERRORS (see $res/san_${tool}_${n}_${c}.log)"; tail -5 "$res/san_${tool}_${n}_${c}.log"; fail=$((fail+1))
    fi
  done
done < "$dir/kernels/manifest"
awk '{print $1}' "$res/check.log" | sort | uniq -c
grep -h "max_abs_err" "$res/check.log" | sed 's/.*rel=\([0-9.e+-]*\).*/\1/' | sort -g | tail -1 | sed 's/^/worst relative error: /'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
