//===- FusedLayerKernel.cpp - the fused kernel and its outline ------------===//
//
// Creates the gpu.func of a fused layer (its parameters, workgroup buffers,
// block and cluster size, register budget, and the i32 globals through which
// it states its launch needs) and emits its outline: the prologue once per
// block, then the rows, in one of three forms:
// - rows in registers: the block's first row is loaded before the prologue
//   and each loop iteration finishes the row it carries and loads the next;
// - streamed or rolled rows (dynamic C, rows too large, many streams): one
//   pass for the sum of squares and one that reads x again;
// - one cluster of blocks per row (cluster-row-split).
//
//===----------------------------------------------------------------------===//

#include "FusedLayerKernel.h"
#include "KernelContract.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::mhc;
using namespace mlir::mhc::gpu_lowering;

SmallVector<Type>
mlir::mhc::gpu_lowering::kernelParameterTypes(MLIRContext *ctx,
                                              const KernelShape &shape) {
  namespace contract = ::mhc::contract;
  auto extent = [&](contract::Extent e) {
    return staticExtent(e, shape.streams, shape.channels);
  };
  auto element = [&](contract::Element e) -> Type {
    switch (e) {
    case contract::Element::F32:
      return Float32Type::get(ctx);
    case contract::Element::I32:
      return IntegerType::get(ctx, 32);
    case contract::Element::Weight:
      return shape.weightType;
    case contract::Element::Activation:
    case contract::Element::Sublayer:
      break;
    }
    llvm_unreachable("not an element of the fused layer's contract");
  };
  return contractParameterTypes(ctx, fl::kArgs, extent, element);
}

gpu::GPUFuncOp mlir::mhc::gpu_lowering::getOrCreateFusedLayerKernel(
    ModuleOp module, const KernelShape &shape, Location loc) {
  MLIRContext *ctx = module.getContext();
  gpu::GPUModuleOp kernels = getOrCreateKernelModule(module, loc);
  std::string name = shape.kernelName();
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;

  ImplicitLocOpBuilder b(loc, ctx);
  gpu::GPUFuncOp func =
      createKernelFunc(b, kernels, name, kernelParameterTypes(ctx, shape),
                       shape.workgroupBuffers(), shape.threads);
  if (shape.clusterBlocks > 0)
    func.setKnownClusterSizeAttr(DenseI32ArrayAttr::get(
        ctx, {static_cast<int32_t>(shape.clusterBlocks), 1, 1}));
  // A register budget for the rows in flight per SM (.minnctapersm).
  if (shape.minBlocksPerSM > 0)
    func->setAttr("nvvm.minctasm", b.getI32IntegerAttr(static_cast<int32_t>(
                                       shape.minBlocksPerSM)));
  FusedLayerEmitter(b, shape, func).emit();

  // No dynamic shared memory; programmatic launch where the kernel waits
  // for the grids it depends on.
  declareLaunchNeeds(b, kernels, name, /*dynamicSharedBytes=*/0,
                     shape.programmaticLaunch);
  return func;
}

void FusedLayerEmitter::bindWorkgroupBuffers() {
  ArrayRef<BlockArgument> wg = func.getWorkgroupAttributions();
  matrixMem = wg[0];
  preMem = wg[1];
  postMem = wg[2];
  partialMem = wg[3];
  unsigned next = 4;
  if (shape.stageWeights)
    weightMem = wg[next++];
  if (shape.clusterBlocks > 0)
    clusterMem = wg[next++];
  if (shape.sharedPrologueFlag())
    flagMem = wg[next++];
}

void FusedLayerEmitter::emit() {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  if (shape.programmaticLaunch)
    emitGridDependencyControl();
  emitThreadIds();
  bindWorkgroupBuffers();

  Value x = arg(fl::X);
  Value rows = memref::DimOp::create(b, x, 0);
  channels = ShapedType::isDynamic(shape.channels)
                 ? memref::DimOp::create(b, x, 2).getResult()
                 : index(shape.channels);
  transposed = arith::CmpIOp::create(b, arith::CmpIPredicate::ne,
                                     arg(fl::Transposed), i32c(0));
  Value first = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value step = gpu::GridDimOp::create(b, gpu::Dimension::x);
  rowCount = rows;
  rowStep = step;
  if (shape.clusterBlocks > 0)
    return emitClusterRow();
  if (shape.rowInRegisters)
    return emitRowsInRegisters(first);

  if (shape.unrolledStreams)
    emitPrologueInRegisters();
  else
    emitPrologueInSharedMemory();
  loadCoefficients();
  scf::ForOp::create(b, first, rows, step, ValueRange{},
                     [&](OpBuilder &, Location, Value row, ValueRange) {
                       if (shape.unrolledStreams)
                         emitRowStreaming(row);
                       else
                         emitRowRolled(row);
                       // The partials of this row are read before the next
                       // row writes them.
                       gpu::BarrierOp::create(b);
                       scf::YieldOp::create(b);
                     });
  gpu::ReturnOp::create(b);
}

/// Static C, row in registers: the block's first row and its weight chunks
/// are loaded before the prologue, so the Sinkhorn latency overlaps those
/// loads. Rows then rotate through the loop: an iteration finishes the row
/// already in registers and loads the block's next one after its stores.
/// Consecutive rows use alternate sets of warp partials, so rows need no
/// barrier between them.
void FusedLayerEmitter::emitRowsInRegisters(Value first) {
  SmallVector<Value> firstRow = loadRowIf(ult(first, rowCount), first);
  // Rows 1..prefetch-rows-1 strides ahead are prefetched here; each loop
  // iteration prefetches the row prefetch-rows strides after its own.
  for (int64_t k = 1; k < shape.prefetchRows; ++k)
    prefetchRow(stridesAfter(first, k));
  SmallVector<Value> stagedWeights = loadStagedWeights();

  emitPrologueInRegisters();
  loadCoefficients();
  storeStagedWeights(stagedWeights);

  Value parity0 = index(0);
  scf::ForOp::create(
      b, first, rowCount, rowStep,
      llvm::to_vector(llvm::concat<Value>(firstRow, ValueRange{parity0})),
      [&](OpBuilder &, Location, Value row, ValueRange iter) {
        Value parity = iter.back();
        if (shape.prefetchRows > 0 && !shape.prefetchAfterReduction)
          prefetchRowAhead(row);
        Value next = addi(row, rowStep);
        Value hasNext = ult(next, rowCount);
        processRow(row, llvm::to_vector(iter.drop_back()), parity);
        SmallVector<Value> nextRow = loadRowIf(hasNext, next);
        nextRow.push_back(arith::SubIOp::create(b, index(1), parity));
        scf::YieldOp::create(b, nextRow);
      });
  gpu::ReturnOp::create(b);
}

/// One cluster per row: block `part` of the cluster holds chunk `part` of
/// the row (every stream), so a row is spread over clusterBlocks SMs. Each
/// block reduces its squares, thread 0 publishes the block's sum in shared
/// memory, and after a cluster barrier every thread adds the blocks' sums
/// in rank order (identical in every block) through distributed shared
/// memory. A second cluster barrier, waited on last, keeps each block's
/// shared memory alive until the others have read it.
void FusedLayerEmitter::emitClusterRow() {
  Value row = gpu::ClusterIdOp::create(b, gpu::Dimension::x);
  Value part = gpu::ClusterBlockIdOp::create(b, gpu::Dimension::x);
  Value c = chunkStart(part);
  // Only the last block's chunk can reach past C; rows past the batch
  // exist only when the launch had none.
  Value active = ult(row, rowCount);
  if (shape.chunksPerThread * shape.threads * shape.vector > shape.channels)
    active = arith::AndIOp::create(b, active, inBounds(c));
  SmallVector<Type> streamTypes(shape.streams, vecType);
  SmallVector<Value> xs =
      ifElseZeros(active, streamTypes, [&] { return loadStreams(row, c); });
  emitPrologueInRegisters();
  loadCoefficients();

  Value y = aggregate(xs);
  Value blockTotal = rowSum(
      vector::ReductionOp::create(b, vector::CombiningKind::ADD, mul(y, y)));
  onFirstThread(
      [&] { memref::StoreOp::create(b, blockTotal, clusterMem, index(0)); });
  // All threads of all blocks of the cluster: arrive (release), wait
  // (acquire).
  NVVM::ClusterArriveOp::create(b, /*aligned=*/b.getUnitAttr());
  NVVM::ClusterWaitOp::create(b, /*aligned=*/b.getUnitAttr());
  Value local = sharedPointer(clusterMem, index(0));
  auto clusterPtr =
      LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/7);
  Value total;
  for (int64_t r = 0; r < shape.clusterBlocks; ++r) {
    Value remote = NVVM::MapaOp::create(b, clusterPtr, local, i32c(r));
    Value v = LLVM::LoadOp::create(b, f32, remote, /*alignment=*/4);
    total = total ? add(total, v) : v;
  }
  NVVM::ClusterArriveOp::create(b, /*aligned=*/b.getUnitAttr());
  Value scale = invRms(total);
  ifElseZeros(active, {}, [&] {
    mixAndStore(row, c, xs, y, scale);
    return SmallVector<Value>();
  });
  NVVM::ClusterWaitOp::create(b, /*aligned=*/b.getUnitAttr());
  gpu::ReturnOp::create(b);
}
