#!/usr/bin/env bash
# Installs what building and testing mhc needs, from Debian's packages. Idempotent:
# packages already present are not reinstalled, and nothing is downloaded when all are there.
# Debian's PyTorch (python3-torch, torch 1.13) is installed too, so the torch
# tests that need no GPU run; MHC_NO_TORCH=1 leaves it out (they are then
# reported as skipped). MHC_SANITIZERS=1 adds clang 22 with its sanitizer and
# libFuzzer runtimes (scripts/test.sh --sanitize).
set -euo pipefail

PACKAGES=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  cmake ninja-build g++ python3 python3-pytest libgtest-dev
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libz3-dev libffi-dev libncurses-dev
)
if [ "${MHC_NO_TORCH:-0}" != 1 ]; then
  PACKAGES+=(python3-torch)
fi
if [ "${MHC_SANITIZERS:-0}" = 1 ]; then
  PACKAGES+=(clang-22 libclang-rt-22-dev libfuzzer-22-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

cuda_home="${CUDA_HOME:-/usr/local/cuda}"
if [ -x "$cuda_home/bin/ptxas" ]; then
  echo "setup: CUDA Toolkit found at $cuda_home (cubin generation, runtime library and GPU tests are built)"
else
  echo "setup: no CUDA Toolkit at $cuda_home (set CUDA_HOME to point elsewhere)."
  echo "setup:   skipped: cubin generation, the CUDA runtime library and its GPU tests."
  echo "setup:   still built: the dialect, mhc-opt, PTX generation and the CPU path."
fi
