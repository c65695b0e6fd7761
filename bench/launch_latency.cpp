//===- launch_latency.cpp - per-call cost of plan.run from C++ ------------===//
//
// For decode-sized layers the time of a call is mostly the launch. This
// measures, from C++ (no Python in the way), for (B, 4, 7168) with B in
// {1, 8, 64} and a few larger shapes:
//   back-to-back: wall time of 2000 consecutive plan.run calls / 2000, then
//                 one synchronize (launch cost and kernel overlap; the larger
//                 of the two per call);
//   synchronous:  median wall time of plan.run + cuCtxSynchronize (one call's
//                 full latency as a caller waiting for it sees it);
//   host:         wall time of 100 consecutive plan.run calls / 100 on an
//                 idle GPU, without synchronizing (the caller's cost of a
//                 call while the launch queue has room).
// Where the plan has a cluster kernel for the batch (sm_90+), the shape is
// measured with it and again with one block per row
// (Preference::clusterRows = false); each with the coefficient cache (one
// workspace, H_res unchanged between calls: every call after the first
// finds M' cached) and without it (Preference::coefficientCache = false:
// every block runs the Sinkhorn rounds), and with and without programmatic
// dependent launch (Preference::programmaticLaunch: on sm_90+ each call's
// launch overlaps the end of the call before it). All calls go to one
// non-blocking stream of the program's own. Prints a table with the kernel
// that ran; exits 77 without a GPU. Arguments BxnxC ... replace the shapes.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "mhc/Runtime/HyperConnection.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace mhc::runtime;
using Clock = std::chrono::steady_clock;

namespace {
struct Shape {
  int64_t b, n, c;
  int32_t iters;
};

struct Timings {
  double backToBack, synchronous, host; // microseconds per call
};

double microseconds(Clock::time_point since) {
  return std::chrono::duration<double, std::micro>(Clock::now() - since)
      .count();
}

/// Times `plan` on `stream` for shape `s` (inputs of finite bytes, a zeroed
/// workspace when the plan has one); false if a run fails.
bool measure(const detail::CudaDriver &cu, const HyperConnectionPlan &plan,
             CUstream stream, const Shape &s, Timings &t) {
  size_t bytes = size_t(s.b * s.n * s.c) * 4;
  CUdeviceptr x, out, p, w, workspace = 0;
  if (plan.workspaceSize()) { // any contents do; zeroed so every row starts
                              // alike
    cu.memAlloc(&workspace, plan.workspaceSize());
    cu.memsetD8(workspace, 0, plan.workspaceSize());
  }
  void *ws = reinterpret_cast<void *>(workspace);
  cu.memAlloc(&x, bytes);
  cu.memAlloc(&out, bytes);
  cu.memAlloc(&p, 4096);
  cu.memAlloc(&w, size_t(s.c) * 2);
  cu.memsetD8(x, 0x3C, bytes); // 0x3C3C3C3C: about 0.0115, finite
  cu.memsetD8(p, 0x3C, 4096);
  cu.memsetD8(w, 0x3F, size_t(s.c) * 2);
  cu.ctxSynchronize(); // the stream does not wait for the memsets
  Args a;
  a.x = reinterpret_cast<void *>(x);
  a.out = reinterpret_cast<void *>(out);
  a.hRes = reinterpret_cast<void *>(p);
  a.hPre = reinterpret_cast<void *>(p + 2048);
  a.hPost = reinterpret_cast<void *>(p + 3072);
  a.weight = reinterpret_cast<void *>(w);
  a.batch = s.b;
  bool ok = true;
  auto runs = [&](int calls) {
    for (int i = 0; i < calls; ++i)
      ok &= bool(plan.run(stream, ws, a));
  };
  runs(100); // warm-up
  cu.streamSynchronize(stream);

  const int calls = 2000;
  auto t0 = Clock::now();
  runs(calls);
  cu.streamSynchronize(stream);
  t.backToBack = microseconds(t0) / calls;

  auto h0 = Clock::now();
  runs(100);
  t.host = microseconds(h0) / 100;
  cu.streamSynchronize(stream);

  std::vector<double> sync;
  for (int i = 0; i < 500; ++i) {
    auto start = Clock::now();
    runs(1);
    cu.streamSynchronize(stream);
    sync.push_back(microseconds(start));
  }
  std::nth_element(sync.begin(), sync.begin() + sync.size() / 2, sync.end());
  t.synchronous = sync[sync.size() / 2];
  for (CUdeviceptr buffer : {x, out, p, w})
    cu.memFree(buffer);
  if (workspace)
    cu.memFree(workspace);
  return ok;
}
} // namespace

int main(int argc, char **argv) {
  const detail::CudaDriver *cu = nullptr;
  if (Status s = detail::loadDriver(cu); !s) {
    std::printf("SKIPPED: %s\n", s.message().c_str());
    return 77;
  }
  CUcontext context;
  CUdevice device;
  CUstream stream;
  if (Status st = detail::currentContext(*cu, context, device); !st) {
    std::printf("no context: %s\n", st.message().c_str());
    return 1;
  }
  cu->streamCreate(&stream, CU_STREAM_NON_BLOCKING);
  std::printf("%8s %3s %6s %6s %6s %5s %18s %18s %10s  %s\n", "B", "n", "C",
              "iters", "cache", "pdl", "back-to-back us", "synchronous us",
              "host us", "kernel");
  // Each shape also with a single Sinkhorn round: the difference is the
  // cost of the rounds in the kernel's prologue.
  std::vector<Shape> shapes = {Shape{1, 4, 7168, 20},   Shape{1, 4, 7168, 1},
                               Shape{8, 4, 7168, 20},   Shape{64, 4, 7168, 20},
                               Shape{1, 8, 4096, 20},   Shape{1, 8, 4096, 1},
                               Shape{320, 4, 1280, 20}, Shape{320, 4, 1280, 1}};
  if (argc > 1) { // BxnxC ... (20 rounds each) instead
    shapes.clear();
    for (int i = 1; i < argc; ++i) {
      long long b, n, c;
      if (std::sscanf(argv[i], "%lldx%lldx%lld", &b, &n, &c) != 3) {
        std::printf("usage: %s [BxnxC ...]\n", argv[0]);
        return 2;
      }
      shapes.push_back(Shape{b, n, c, 20});
    }
  }
  for (Shape s : shapes)
    for (bool clusterRows : {true, false})
      for (bool cache : {true, false})
        for (bool programmatic : {true, false}) {
          Descriptor d;
          d.streams = s.n;
          d.channels = s.c;
          d.sinkhornIters = s.iters;
          Preference preference;
          preference.clusterRows = clusterRows;
          preference.coefficientCache = cache;
          preference.programmaticLaunch = programmatic;
          std::unique_ptr<HyperConnectionPlan> plan;
          if (Status st =
                  HyperConnectionPlan::select(nullptr, d, preference, plan);
              !st) {
            std::printf("select failed: %s\n", st.message().c_str());
            return 1;
          }
          const Sku &sku = plan->sku();
          bool clustered = sku.runsClusters(s.b);
          if (clusterRows && !clustered)
            continue; // the same kernel as with clusterRows = false
          if (programmatic && !sku.runsProgrammatic(s.b))
            continue; // the same launches as without
          Timings t;
          if (!measure(*cu, *plan, stream, s, t))
            return 1;
          std::printf(
              "%8lld %3lld %6lld %6d %6s %5s %18.2f %18.2f %10.2f  %s\n",
              (long long)s.b, (long long)s.n, (long long)s.c, s.iters,
              cache ? "on" : "off", programmatic ? "on" : "off", t.backToBack,
              t.synchronous, t.host, sku.kernelFor(s.b).c_str());
        }
  return 0;
}
