//===- HyperConnection.h - mhc runtime: plans over fused kernels -*- C++
//-*-===//
//
// The runtime users of ML frameworks call: describe a layer once, select a
// plan once (heavy: validates, picks the kernel variant, loads its module),
// run it many times (light: one asynchronous kernel launch on the caller's
// stream, no allocation, no copy, no host synchronization).
//
// The kernels are the ones mhc-opt generated at build time, embedded in the
// library (PTX for any sm_80+ GPU, cubin for sm_80 and sm_90). The runtime
// does not link MLIR, and loads the CUDA driver (libcuda.so.1) at run time, so
// it also loads on machines without a GPU and reports NoDevice there.
//
// Thread safety and lifetime:
// - `select` may be called from any thread; it uses the calling thread's
//   current CUDA context (or the primary context of device 0 when there is
//   none) and loads each kernel module once per context (cached for the life
//   of the process).
// - A plan is immutable after `select`: `canImplement`, `workspaceSize`,
//   `sku`, `precisionGuarantee` and `run` are const and may be called
//   concurrently from several threads, on one or several streams, each run
//   with its own workspace.
// - The workspace memoizes the layer's Sinkhorn result M' (keyed by H_res
//   and the conventions, compared bit for bit), so runs whose H_res did not
//   change skip the rounds. A workspace may be reused by any plans whose runs
//   are ordered (one stream, or synchronized), never by two runs in flight
//   at once. Its contents need no initialization: an entry is used only when
//   its key matches and its 64-bit seal matches the key and M' it holds. A
//   hit returns exactly the bits the rounds would compute, so outputs do not
//   depend on the cache.
// - A plan must be run in the context it was selected in, and must not
//   outlive that context.
//
//===----------------------------------------------------------------------===//

#ifndef MHC_RUNTIME_HYPERCONNECTION_H
#define MHC_RUNTIME_HYPERCONNECTION_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace mhc::runtime {

enum class DType { F32, BF16 };
enum class SinkhornInit { Exp, Softmax };
enum class MixOrientation { Direct, Transposed };

/// The layer, as mhc.static_layer describes it (docs/DESIGN.md).
struct Descriptor {
  int64_t streams = 4;  ///< n, 1..32.
  int64_t channels = 0; ///< C >= 1.
  int64_t maxBatch = 0; ///< Largest B a run may pass; 0 means no limit.
  DType activation = DType::F32;
  DType weight = DType::BF16;
  float eps = 1e-6f; ///< RMSNorm eps, > 0.
  int32_t sinkhornIters = 20;
  SinkhornInit sinkhornInit = SinkhornInit::Exp;
  float sinkhornEps = 1e-6f; ///< Used by the softmax convention, > 0.
  float preEps = 0.0f;       ///< Added to sigmoid(h_pre), >= 0.
  MixOrientation orientation = MixOrientation::Direct;
};

/// Device pointers (row-major, contiguous) and the batch of one run.
struct Args {
  const void *x = nullptr;      ///< [batch, n, C] f32
  const void *hRes = nullptr;   ///< [n, n] f32
  const void *hPre = nullptr;   ///< [n] f32
  const void *hPost = nullptr;  ///< [n] f32
  const void *weight = nullptr; ///< [C] of `weightType`
  void *out = nullptr;          ///< [batch, n, C] f32; must not overlap inputs
  int64_t batch = 0;
  DType weightType = DType::BF16;
};

struct Preference {
  /// Only the general variants with 4-byte accesses: any C, pointers that are
  /// only 4-byte aligned (e.g. views into a larger tensor).
  bool portable = false;
  /// Blocks a run launches at most. 0: the plan decides: as many as fit on
  /// the GPU at once, each looping over rows, or one block per row for the
  /// fixed-C kernels with C >= 1920 and rows up to 128 KiB (rows of 96-128
  /// KiB without the coefficient cache) (Sku::blockPerRow, Sku::gridFor).
  int64_t maxBlocks = 0;
  /// On sm_90+, runs of at most a quarter as many rows as the GPU has SMs
  /// (whose clusters all fit at once) use one thread-block cluster per row
  /// (the row spread over several SMs) where a cluster kernel exists for
  /// (n, C); false always uses one block per row.
  bool clusterRows = true;
  /// Memoize M' in the workspace (see workspaceSize); false: every run
  /// computes the Sinkhorn rounds and the plan needs no workspace.
  bool coefficientCache = true;
  /// On sm_90+, launch with programmatic stream serialization (programmatic
  /// dependent launch) where the kernel supports it: the launch and the
  /// start of its blocks overlap the end of the kernel queued before it on
  /// the stream; the kernel waits for that kernel's completion before it
  /// touches memory, and kernels queued after it that are launched the same
  /// way may start before it ends. Results are the same either way; false:
  /// ordinary launches.
  bool programmaticLaunch = true;
};

enum class StatusCode {
  Ok = 0,
  Unsupported,
  InvalidArgument,
  CudaError,
  NoDevice,
  Internal,
};

/// The outcome of a call: a category and a reason a user can act on.
class Status {
public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool isOk() const { return code_ == StatusCode::Ok; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

const char *toString(StatusCode code);

/// Identity of the kernel variant a plan dispatches to.
struct Sku {
  std::string kernel; ///< e.g. mhc_fused_n4_c4096_v4_wbf16_t256
  std::string family; ///< fixed | general-v4 | general-v1
  std::string arch;   ///< image loaded: sm_80 / sm_90 cubin, or ptx
  int64_t vectorWidth = 4;
  int64_t threadsPerBlock = 256;
  /// Dynamic shared memory of a launch of `kernel` (its staged rows; set by
  /// select from what the loaded image states).
  int64_t dynamicSharedBytes = 0;
  /// Runs launch one block per row instead of a GPU-filling grid whose
  /// blocks loop over rows (fixed C >= 1920 with rows up to 128 KiB, or
  /// rows of 96-128 KiB without the coefficient cache; no maxBlocks).
  bool blockPerRow = false;
  /// Blocks a run of `kernel` launches at most (set by select): as many as
  /// fit on the GPU at once, or Preference::maxBlocks; unbounded for
  /// blockPerRow.
  int64_t maxGridBlocks = 0;
  /// The cluster kernel for small batches (family "cluster"), or empty.
  std::string clusterKernel;
  int64_t clusterBlocks = 0;          ///< Blocks per row (the cluster size).
  int64_t clusterThreadsPerBlock = 0; ///< Threads per block of clusterKernel.
  int64_t clusterMaxBatch = 0; ///< Largest batch it runs (set by select).
  /// Launches of `kernel` / `clusterKernel` use programmatic stream
  /// serialization (Preference::programmaticLaunch, where the loaded image's
  /// kernel states that it waits for the grids it depends on; set by select).
  bool programmaticLaunch = false;
  bool clusterProgrammaticLaunch = false;
  /// Whether a run of `batch` rows launches `clusterKernel`.
  bool runsClusters(int64_t batch) const {
    return !clusterKernel.empty() && batch <= clusterMaxBatch;
  }
  /// The kernel a run of `batch` rows launches.
  const std::string &kernelFor(int64_t batch) const {
    return runsClusters(batch) ? clusterKernel : kernel;
  }
  /// Threads per block of the kernel a run of `batch` rows launches.
  int64_t threadsFor(int64_t batch) const {
    return runsClusters(batch) ? clusterThreadsPerBlock : threadsPerBlock;
  }
  /// Whether a run of `batch` rows is a programmatic launch.
  bool runsProgrammatic(int64_t batch) const {
    return runsClusters(batch) ? clusterProgrammaticLaunch : programmaticLaunch;
  }
  /// Blocks a run of `batch` rows launches: `clusterBlocks` per row for the
  /// cluster kernel, else one per row up to maxGridBlocks, whose blocks then
  /// loop over the rows. (The fewest blocks that keep each block's row
  /// count, to spare the last rows a part-filled GPU, were measured slower:
  /// bench/NOTES.md, attempt 27.)
  int64_t gridFor(int64_t batch) const;
  /// Forgets the cluster kernel: every run launches `kernel`.
  void dropClusterKernel();
  std::string toString() const;
};

struct PrecisionGuarantee {
  const char *math = "f32 (a bf16 weight is widened exactly to f32)";
  const char *accumulation = "f32, fixed order";
  /// Identical inputs on the same device give bit-identical outputs.
  bool deterministic = true;
  /// |out - ref| <= maxRelativeError * max(1, max|ref|) + the conditioning
  /// term of mhc::reference::conditioningBound (large only for rows whose
  /// mean square is small against eps, e.g. C = 1), against a float64
  /// reference; as the GPU tests assert it. Measured: bench/results/.
  double maxRelativeError = 1e-5;
};

class HyperConnectionPlan {
public:
  /// Builds a plan (heavy). Fails with Unsupported when no kernel covers the
  /// descriptor, InvalidArgument for a malformed one, NoDevice without a GPU.
  /// `stream` (a CUstream) only pins the context: the plan may run on others.
  static Status select(void *stream, const Descriptor &descriptor,
                       const Preference &preference,
                       std::unique_ptr<HyperConnectionPlan> &plan);

  ~HyperConnectionPlan();
  HyperConnectionPlan(const HyperConnectionPlan &) = delete;
  HyperConnectionPlan &operator=(const HyperConnectionPlan &) = delete;

  /// Validates concrete arguments without running: null, misaligned,
  /// overlapping pointers, a batch beyond the descriptor, a weight dtype
  /// that differs from the descriptor's.
  Status canImplement(const Args &args) const;
  /// Bytes of workspace `run` needs (16-byte aligned device memory, any
  /// contents; see the file comment): the coefficient cache,
  /// coefficientCacheBytes(n) (include/mhc/Contract/FusedLayer.h has its
  /// layout); 0 without it (Preference::coefficientCache). `run` allocates
  /// nothing.
  size_t workspaceSize() const;
  const Sku &sku() const;
  PrecisionGuarantee precisionGuarantee() const { return {}; }
  const Descriptor &descriptor() const;
  /// Enqueues one kernel launch on `stream` (a CUstream; null: the legacy
  /// default stream). Asynchronous; validates `args` and the workspace
  /// (present when workspaceSize() > 0, 16-byte aligned, not overlapping
  /// the arguments) first, so bad input returns an error instead of
  /// launching. batch == 0 is a no-op.
  Status run(void *stream, void *workspace, const Args &args) const;

  struct Impl;

private:
  explicit HyperConnectionPlan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The variant a descriptor maps to, without a device (what `select` picks
/// before it loads anything). Exposed for tests and tooling.
Status selectSku(const Descriptor &descriptor, const Preference &preference,
                 Sku &sku);

/// Checks the descriptor's own rules (ranges, dtypes, finite eps).
Status validateDescriptor(const Descriptor &descriptor);

/// Checks `args` against a descriptor and the variant's alignment needs.
Status validateArgs(const Descriptor &descriptor, const Sku &sku,
                    const Args &args);

/// Bytes of the coefficient cache of a layer with `streams` streams.
size_t coefficientCacheBytes(int64_t streams);

/// Checks the workspace of a run: `bytes` (the plan's workspaceSize) of
/// 16-byte aligned memory that overlaps none of `args` (any pointer when
/// `bytes` is 0).
Status validateWorkspace(const Descriptor &descriptor, size_t bytes,
                         const void *workspace, const Args &args);

} // namespace mhc::runtime

#endif // MHC_RUNTIME_HYPERCONNECTION_H
