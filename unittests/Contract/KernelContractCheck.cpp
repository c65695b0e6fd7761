//===- KernelContractCheck.cpp - compiler and runtime against the contract ===//
//
// usage: mhc-contract-check <family> <family.mlir> <PTX image> [<options>]
//
// For one family of the runtime's kernel library, checks both sides of the
// kernel contract (include/mhc/Contract) on what the build actually made:
// - the runtime: every kernel its SKU selection can pick for the family,
//   over all descriptors and preferences that reach the family, is named as
//   the contract names that variant;
// - the compiler: lowering the family's IR (the file the build compiled,
//   with the family's --mhc-gpu-pipeline options) gives exactly those
//   kernels, each with the contract's parameter types, nothing else;
// - the image: each kernel's PTX entry has the contract's parameters (a
//   memref descriptor per buffer, one parameter per scalar) and the block
//   and cluster size the runtime launches it with.
// The expectations are built here from the contract's argument list, not
// copied from either side. Prints every mismatch; exits 1 if there is one.
//
//===----------------------------------------------------------------------===//

#include "mhc/Contract/DynamicPost.h"
#include "mhc/Contract/DynamicPre.h"
#include "mhc/Contract/FusedLayer.h"
#include "mhc/Conversion/Passes.h"
#include "mhc/Dialect/MHC/Transforms/Passes.h"
#include "mhc/InitMHC.h"
#include "mhc/Pipelines/Pipelines.h"
#include "mhc/Runtime/DynamicPost.h"
#include "mhc/Runtime/DynamicPre.h"
#include "mhc/Runtime/HyperConnection.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace contract = ::mhc::contract;
namespace fl = ::mhc::contract::fused_layer;
namespace post = ::mhc::contract::dynamic_post;
namespace dpre = ::mhc::contract::dynamic_pre;
namespace rt = ::mhc::runtime;

namespace {

int failures = 0;

void fail(const std::string &message) {
  llvm::errs() << "mismatch: " << message << "\n";
  ++failures;
}

/// A kernel the runtime can launch, as its family's contract describes it:
/// the argument list, and what the variant fixes of it (0: known only at
/// run time) and of its launch.
struct Expected {
  llvm::ArrayRef<contract::Arg> args;
  int64_t streams = 0, channels = 0;
  bool bf16Weight = false, bf16Activation = false, bf16Sublayer = false;
  int64_t threads = 0, clusterBlocks = 0;

  static Expected of(const fl::Variant &v) {
    Expected e;
    e.args = fl::kArgs;
    e.streams = v.streams;
    e.channels = v.channels;
    e.bf16Weight = v.bf16Weight;
    e.threads = v.threads;
    e.clusterBlocks = v.clusterBlocks;
    return e;
  }
  static Expected of(const dpre::ProjectionVariant &v) {
    Expected e;
    e.args = dpre::projection::kArgs;
    e.streams = v.streams;
    e.bf16Activation = v.bf16Activation;
    e.bf16Weight = v.bf16Projection;
    e.threads = v.threads;
    return e;
  }
  static Expected of(const dpre::PreVariant &v) {
    Expected e;
    e.args = dpre::pre::kArgs;
    e.streams = v.streams;
    e.bf16Activation = v.bf16Activation;
    e.threads = v.threads;
    return e;
  }
  static Expected of(const post::Variant &v) {
    Expected e;
    e.args = post::kArgs;
    e.streams = v.streams;
    e.bf16Activation = v.bf16Activation;
    e.bf16Sublayer = v.bf16Sublayer;
    e.threads = v.threads;
    return e;
  }
};

/// The fixed (n, C) pairs the runtime was built with.
struct FixedPair {
  int64_t streams, channels;
};
constexpr FixedPair kFixedPairs[] = {
#define MHC_FIXED_VARIANT(n, c, t, k, kt) {n, c},
#include "FixedVariants.inc"
#undef MHC_FIXED_VARIANT
};

/// Every kernel of a post family the runtime's selection picks, by name.
std::map<std::string, Expected>
selectablePostKernels(const std::string &family) {
  std::map<std::string, Expected> kernels;
  for (rt::DType x : {rt::DType::BF16, rt::DType::F32})
    for (rt::DType f : {rt::DType::BF16, rt::DType::F32})
      for (int64_t n = 1; n <= 32; ++n)
        for (int64_t c : {1, 3, 1000, 1001, 4096})
          for (bool portable : {false, true}) {
            rt::PostDescriptor d;
            d.streams = n;
            d.channels = c;
            d.activation = x;
            d.sublayer = f;
            rt::Preference preference;
            preference.portable = portable;
            rt::Sku sku;
            if (!rt::selectPostSku(d, preference, sku)) {
              fail("selectPostSku rejects n = " + std::to_string(n) +
                   ", C = " + std::to_string(c));
              continue;
            }
            if (sku.family != family)
              continue;
            post::Variant v;
            v.streams = n <= 8 ? n : 0;
            v.bf16Activation = x == rt::DType::BF16;
            v.bf16Sublayer = f == rt::DType::BF16;
            v.vectorWidth = sku.vectorWidth;
            v.threads = sku.threadsPerBlock;
            if (post::kernelName(v) != sku.kernel)
              fail("the runtime selects " + sku.kernel +
                   ", the contract names it " + post::kernelName(v));
            kernels[sku.kernel] = Expected::of(v);
          }
  return kernels;
}

/// Every kernel of a pre family the runtime's selection picks, by name.
std::map<std::string, Expected>
selectablePreKernels(const std::string &family) {
  std::map<std::string, Expected> kernels;
  for (rt::DType x : {rt::DType::BF16, rt::DType::F32})
    for (rt::DType p : {rt::DType::BF16, rt::DType::F32})
      for (int64_t n = 1; n <= 8; ++n)
        for (int64_t c : {1, 37, 64, 4096, 7168})
          for (bool portable : {false, true}) {
          rt::PreDescriptor d;
          d.streams = n;
          d.channels = c;
          d.activation = x;
          d.projection = p;
          rt::Sku sku;
          std::string preKernel;
          rt::Preference preference;
          preference.portable = portable;
          if (!rt::selectPreSku(d, preference, sku, preKernel)) {
            fail("selectPreSku rejects n = " + std::to_string(n) +
                 ", C = " + std::to_string(c));
            continue;
          }
          if (sku.family != family)
            continue;
          dpre::ProjectionVariant pv;
          pv.streams = n;
          pv.bf16Activation = x == rt::DType::BF16;
          pv.bf16Projection = p == rt::DType::BF16;
          pv.vectorWidth = family == "pre-v1"
                               ? 1
                               : dpre::bf16Multiply(pv.bf16Activation,
                                                    pv.bf16Projection)
                                     ? 8
                                     : 4;
          pv.threads = sku.threadsPerBlock;
          dpre::PreVariant v;
          v.streams = n;
          v.bf16Activation = x == rt::DType::BF16;
          v.vectorWidth = sku.vectorWidth;
          v.threads = 256;
          if (dpre::kernelName(pv) != sku.kernel)
            fail("the runtime selects " + sku.kernel +
                 ", the contract names it " + dpre::kernelName(pv));
          if (dpre::kernelName(v) != preKernel)
            fail("the runtime selects " + preKernel +
                 ", the contract names it " + dpre::kernelName(v));
          kernels[sku.kernel] = Expected::of(pv);
          kernels[preKernel] = Expected::of(v);
          }
  return kernels;
}

/// Every kernel of `family` the runtime's SKU selection picks, by name.
std::map<std::string, Expected> selectableKernels(const std::string &family) {
  if (family.rfind("pre", 0) == 0)
    return selectablePreKernels(family);
  if (family.rfind("post", 0) == 0)
    return selectablePostKernels(family);
  std::vector<rt::Descriptor> descriptors;
  for (rt::DType weight : {rt::DType::BF16, rt::DType::F32}) {
    auto add = [&](int64_t n, int64_t c) {
      rt::Descriptor d;
      d.streams = n;
      d.channels = c;
      d.weight = weight;
      descriptors.push_back(d);
    };
    for (FixedPair p : kFixedPairs)
      add(p.streams, p.channels);
    // Channels that no fixed kernel has: a multiple of 4 and not.
    for (int64_t n = 1; n <= 32; ++n)
      for (int64_t c : {1, 3, 1000, 1001, 4100})
        add(n, c);
  }
  std::map<std::string, Expected> kernels;
  for (const rt::Descriptor &d : descriptors)
    for (bool portable : {false, true}) {
      rt::Preference preference;
      preference.portable = portable;
      rt::Sku sku;
      if (!rt::selectSku(d, preference, sku)) {
        fail("selectSku rejects n = " + std::to_string(d.streams) +
             ", C = " + std::to_string(d.channels));
        continue;
      }
      auto expect = [&](const std::string &name, fl::Variant v) {
        if (fl::kernelName(v) != name)
          fail("the runtime selects " + name + ", the contract names it " +
               fl::kernelName(v));
        kernels[name] = Expected::of(v);
      };
      fl::Variant v;
      v.streams = d.streams;
      v.vectorWidth = sku.vectorWidth;
      v.bf16Weight = d.weight == rt::DType::BF16;
      if (sku.family == family) {
        v.channels = family == "fixed" ? d.channels : 0;
        v.threads = sku.threadsPerBlock;
        expect(sku.kernel, v);
      }
      if (family == "cluster" && !sku.clusterKernel.empty()) {
        v.channels = d.channels;
        v.threads = sku.clusterThreadsPerBlock;
        v.clusterBlocks = sku.clusterBlocks;
        expect(sku.clusterKernel, v);
      }
    }
  return kernels;
}

/// The parameter types the contract gives kernel `e`.
llvm::SmallVector<mlir::Type> contractTypes(mlir::MLIRContext &ctx,
                                            const Expected &e) {
  mlir::Type f32 = mlir::Float32Type::get(&ctx);
  mlir::Type i32 = mlir::IntegerType::get(&ctx, 32);
  mlir::Type bf16 = mlir::BFloat16Type::get(&ctx);
  auto dynamicIfZero = [](int64_t v) {
    return v > 0 ? v : mlir::ShapedType::kDynamic;
  };
  llvm::SmallVector<mlir::Type> types;
  for (const contract::Arg &arg : e.args) {
    if (arg.kind != contract::ArgKind::Buffer) {
      types.push_back(arg.kind == contract::ArgKind::F32 ? f32 : i32);
      continue;
    }
    llvm::SmallVector<int64_t> shape;
    for (int d = 0; d < arg.rank; ++d) {
      switch (arg.extents[d]) {
      case contract::Extent::Streams:
        shape.push_back(dynamicIfZero(e.streams));
        break;
      case contract::Extent::Channels:
        shape.push_back(dynamicIfZero(e.channels));
        break;
      case contract::Extent::ProjectionRows:
        shape.push_back(e.streams > 0 && e.channels > 0
                            ? e.streams * e.channels
                            : mlir::ShapedType::kDynamic);
        break;
      case contract::Extent::ProjectionColumns:
        shape.push_back(e.streams * e.streams + 2 * e.streams);
        break;
      case contract::Extent::PartialWidth:
        shape.push_back(e.streams * e.streams + 2 * e.streams + 1);
        break;
      case contract::Extent::Scales:
        shape.push_back(3);
        break;
      default:
        shape.push_back(mlir::ShapedType::kDynamic);
      }
    }
    mlir::Type element;
    switch (arg.element) {
    case contract::Element::F32:
      element = f32;
      break;
    case contract::Element::I32:
      element = i32;
      break;
    case contract::Element::Weight:
      element = e.bf16Weight ? bf16 : f32;
      break;
    case contract::Element::Activation:
      element = e.bf16Activation ? bf16 : f32;
      break;
    case contract::Element::Sublayer:
      element = e.bf16Sublayer ? bf16 : f32;
      break;
    }
    types.push_back(mlir::MemRefType::get(shape, element));
  }
  return types;
}

/// The kernels convert-mhc-to-gpu makes of `mlirPath` with the pipeline
/// options `options`, by name.
bool lowerFamily(mlir::MLIRContext &ctx, const std::string &mlirPath,
                 const std::string &options,
                 std::map<std::string, mlir::FunctionType> &lowered,
                 mlir::OwningOpRef<mlir::ModuleOp> &module) {
  llvm::SourceMgr sources;
  std::string error;
  auto file = mlir::openInputFile(mlirPath, &error);
  if (!file) {
    fail(error);
    return false;
  }
  sources.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  module = mlir::parseSourceFile<mlir::ModuleOp>(sources, &ctx);
  if (!module) {
    fail("cannot parse " + mlirPath);
    return false;
  }
  // The options as --mhc-gpu-pipeline takes them, forwarded to the
  // lowering the way the pipeline forwards them.
  auto pipeline = mlir::mhc::GPUPipelineOptions::createFromString(options);
  if (!pipeline) {
    fail("bad pipeline options '" + options + "'");
    return false;
  }
  mlir::PassManager pm(&ctx);
  pm.addPass(mlir::mhc::createMHCDecompose());
  pm.addPass(mlir::mhc::createMHCFuse());
  pm.addPass(mlir::mhc::createConvertMHCToGPU(pipeline->loweringOptions()));
  if (mlir::failed(pm.run(*module))) {
    fail("lowering " + mlirPath + " failed");
    return false;
  }
  module->walk([&](mlir::gpu::GPUFuncOp func) {
    lowered[func.getName().str()] = func.getFunctionType();
  });
  return true;
}

/// A PTX entry: its parameter types and its block and cluster size.
struct Entry {
  std::vector<std::string> params;
  int64_t maxThreads = 0, clusterBlocks = 0;
};

std::map<std::string, Entry> ptxEntries(const std::string &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string ptx = text.str();
  std::map<std::string, Entry> entries;
  std::regex entryRe(R"(\.entry (\w+)\(([^)]*)\)\s*([^{]*)\{)");
  std::regex paramRe(R"(\.param (\.\w+)( \.ptr)?)");
  std::regex ntidRe(R"(\.maxntid (\d+),)");
  std::regex clusterRe(R"(\.reqnctapercluster (\d+),)");
  for (auto it = std::sregex_iterator(ptx.begin(), ptx.end(), entryRe);
       it != std::sregex_iterator(); ++it) {
    Entry entry;
    std::string params = (*it)[2], directives = (*it)[3];
    for (auto p = std::sregex_iterator(params.begin(), params.end(), paramRe);
         p != std::sregex_iterator(); ++p)
      entry.params.push_back((*p)[1].str() + (*p)[2].str());
    std::smatch m;
    if (std::regex_search(directives, m, ntidRe))
      entry.maxThreads = std::stoll(m[1]);
    if (std::regex_search(directives, m, clusterRe))
      entry.clusterBlocks = std::stoll(m[1]);
    entries[(*it)[1]] = entry;
  }
  return entries;
}

/// The PTX parameters the contract gives kernel `e`: a buffer's descriptor
/// is two pointers and 1 + 2 rank 64-bit integers.
std::vector<std::string> contractPtxParams(const Expected &e) {
  std::vector<std::string> params;
  for (const contract::Arg &arg : e.args) {
    switch (arg.kind) {
    case contract::ArgKind::Buffer:
      params.insert(params.end(), 2, ".u64 .ptr");
      params.insert(params.end(), 1 + 2 * arg.rank, ".u64");
      break;
    case contract::ArgKind::F32:
      params.push_back(".f32");
      break;
    case contract::ArgKind::I32:
      params.push_back(".u32");
      break;
    }
  }
  return params;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    llvm::errs() << "usage: mhc-contract-check <family> <family.mlir> "
                    "<PTX image> [<--mhc-gpu-pipeline options>]\n";
    return 2;
  }
  std::string family = argv[1], mlirPath = argv[2], ptxPath = argv[3];
  std::string options = argc == 5 ? argv[4] : "";

  std::map<std::string, Expected> expected = selectableKernels(family);
  if (expected.empty())
    fail("the runtime selects no kernel of family " + family);
  if (contractPtxParams(Expected::of(fl::Variant())).size() !=
      fl::kParameterCount)
    fail("the fused layer's kParameterCount disagrees with its arguments");
  if (contractPtxParams(Expected::of(post::Variant())).size() !=
      post::kParameterCount)
    fail("the post's kParameterCount disagrees with its arguments");
  if (contractPtxParams(Expected::of(dpre::ProjectionVariant())).size() !=
          dpre::projection::kParameterCount ||
      contractPtxParams(Expected::of(dpre::PreVariant())).size() !=
          dpre::pre::kParameterCount)
    fail("the pre's kParameterCount disagrees with its arguments");

  mlir::DialectRegistry registry;
  mlir::mhc::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  std::map<std::string, mlir::FunctionType> lowered;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (lowerFamily(ctx, mlirPath, options, lowered, module)) {
    for (const auto &[name, kernel] : expected) {
      auto it = lowered.find(name);
      if (it == lowered.end()) {
        fail("the runtime selects " + name + ", which " + mlirPath +
             " does not lower to");
        continue;
      }
      auto want =
          mlir::FunctionType::get(&ctx, contractTypes(ctx, kernel), {});
      if (it->second != want) {
        std::string got, contractText;
        llvm::raw_string_ostream(got) << it->second;
        llvm::raw_string_ostream(contractText) << want;
        fail(name + " is lowered as " + got + ", the contract says " +
             contractText);
      }
    }
    for (const auto &[name, type] : lowered)
      if (!expected.count(name))
        fail(name + " is in the " + family +
             " library but the runtime never selects it");
  }

  std::map<std::string, Entry> entries = ptxEntries(ptxPath);
  for (const auto &[name, kernel] : expected) {
    std::vector<std::string> params = contractPtxParams(kernel);
    auto it = entries.find(name);
    if (it == entries.end()) {
      fail(name + " has no entry in " + ptxPath);
      continue;
    }
    const Entry &entry = it->second;
    if (entry.params != params)
      fail(name + " takes " + std::to_string(entry.params.size()) +
           " PTX parameters unlike the contract's " +
           std::to_string(params.size()) + " (or of other types)");
    if (entry.maxThreads != kernel.threads)
      fail(name + " is compiled for " + std::to_string(entry.maxThreads) +
           " threads per block, launched with " +
           std::to_string(kernel.threads));
    if (entry.clusterBlocks != kernel.clusterBlocks)
      fail(name + " has clusters of " + std::to_string(entry.clusterBlocks) +
           " blocks, launched with " +
           std::to_string(kernel.clusterBlocks));
  }
  if (entries.size() != expected.size())
    fail(ptxPath + " has " + std::to_string(entries.size()) +
         " kernels, the runtime selects " + std::to_string(expected.size()));

  llvm::outs() << family << ": " << expected.size()
               << " kernels checked against the contract, " << failures
               << " mismatches\n";
  return failures ? 1 : 0;
}
