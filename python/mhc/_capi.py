"""ctypes bindings of the mhc runtime's C API (include/mhc-c/Runtime.h)."""
import ctypes

from . import _loader

STATUS_NAMES = {0: "ok", 1: "unsupported", 2: "invalid argument",
                3: "CUDA error", 4: "no device", 5: "internal error"}

DTYPE_F32, DTYPE_BF16 = 0, 1
SINKHORN_EXP, SINKHORN_SOFTMAX = 0, 1
MIX_DIRECT, MIX_TRANSPOSED = 0, 1


class Descriptor(ctypes.Structure):
    _fields_ = [("streams", ctypes.c_int64), ("channels", ctypes.c_int64),
                ("max_batch", ctypes.c_int64), ("activation", ctypes.c_int32),
                ("weight", ctypes.c_int32), ("eps", ctypes.c_float),
                ("sinkhorn_iters", ctypes.c_int32),
                ("sinkhorn_init", ctypes.c_int32),
                ("sinkhorn_eps", ctypes.c_float), ("pre_eps", ctypes.c_float),
                ("orientation", ctypes.c_int32)]


class Args(ctypes.Structure):
    _fields_ = [("x", ctypes.c_void_p), ("h_res", ctypes.c_void_p),
                ("h_pre", ctypes.c_void_p), ("h_post", ctypes.c_void_p),
                ("weight", ctypes.c_void_p), ("out", ctypes.c_void_p),
                ("batch", ctypes.c_int64), ("weight_dtype", ctypes.c_int32)]


class Preference(ctypes.Structure):
    _fields_ = [("portable", ctypes.c_int32), ("max_blocks", ctypes.c_int64),
                ("no_cluster_rows", ctypes.c_int32),
                ("no_coefficient_cache", ctypes.c_int32),
                ("no_programmatic_launch", ctypes.c_int32)]


class Precision(ctypes.Structure):
    _fields_ = [("deterministic", ctypes.c_int32),
                ("max_relative_error", ctypes.c_double),
                ("math", ctypes.c_char_p), ("accumulation", ctypes.c_char_p)]


class PostDescriptor(ctypes.Structure):
    _fields_ = [("streams", ctypes.c_int64), ("channels", ctypes.c_int64),
                ("max_batch", ctypes.c_int64), ("activation", ctypes.c_int32),
                ("sublayer", ctypes.c_int32), ("orientation", ctypes.c_int32)]


class PostArgs(ctypes.Structure):
    _fields_ = [("x", ctypes.c_void_p), ("f", ctypes.c_void_p),
                ("matrix", ctypes.c_void_p), ("h_post", ctypes.c_void_p),
                ("out", ctypes.c_void_p), ("batch", ctypes.c_int64)]


class PreDescriptor(ctypes.Structure):
    _fields_ = [("streams", ctypes.c_int64), ("channels", ctypes.c_int64),
                ("max_batch", ctypes.c_int64), ("activation", ctypes.c_int32),
                ("projection", ctypes.c_int32), ("eps", ctypes.c_float),
                ("pre_eps", ctypes.c_float), ("sinkhorn_iters", ctypes.c_int32),
                ("sinkhorn_init", ctypes.c_int32), ("sinkhorn_eps", ctypes.c_float)]


class PreArgs(ctypes.Structure):
    _fields_ = [("x", ctypes.c_void_p), ("phi", ctypes.c_void_p),
                ("alpha", ctypes.c_void_p), ("bias", ctypes.c_void_p),
                ("y", ctypes.c_void_p), ("h_pre", ctypes.c_void_p),
                ("h_post", ctypes.c_void_p), ("matrix", ctypes.c_void_p),
                ("batch", ctypes.c_int64)]


_lib = None


def library():
    """The loaded runtime library (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    lib = _loader.load("MHC_RUNTIME_LIBRARY", "libmhc_runtime.so")
    plan = ctypes.c_void_p
    status = ctypes.c_int
    lib.mhc_descriptor_init.argtypes = [ctypes.POINTER(Descriptor), ctypes.c_int64, ctypes.c_int64]
    lib.mhc_descriptor_init.restype = None
    lib.mhc_plan_select.argtypes = [ctypes.c_void_p, ctypes.POINTER(Descriptor),
                                    ctypes.POINTER(Preference), ctypes.POINTER(plan)]
    lib.mhc_plan_select.restype = status
    lib.mhc_plan_destroy.argtypes = [plan]
    lib.mhc_plan_destroy.restype = None
    lib.mhc_plan_can_implement.argtypes = [plan, ctypes.POINTER(Args)]
    lib.mhc_plan_can_implement.restype = status
    lib.mhc_plan_workspace_size.argtypes = [plan]
    lib.mhc_plan_workspace_size.restype = ctypes.c_size_t
    lib.mhc_plan_sku.argtypes = [plan]
    lib.mhc_plan_sku.restype = ctypes.c_char_p
    lib.mhc_plan_precision_guarantee.argtypes = [plan, ctypes.POINTER(Precision)]
    lib.mhc_plan_precision_guarantee.restype = status
    lib.mhc_plan_run.argtypes = [plan, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(Args)]
    lib.mhc_plan_run.restype = status
    lib.mhc_post_descriptor_init.argtypes = [ctypes.POINTER(PostDescriptor),
                                             ctypes.c_int64, ctypes.c_int64]
    lib.mhc_post_descriptor_init.restype = None
    lib.mhc_post_plan_select.argtypes = [ctypes.c_void_p, ctypes.POINTER(PostDescriptor),
                                         ctypes.POINTER(Preference), ctypes.POINTER(plan)]
    lib.mhc_post_plan_select.restype = status
    lib.mhc_post_plan_destroy.argtypes = [plan]
    lib.mhc_post_plan_destroy.restype = None
    lib.mhc_post_plan_can_implement.argtypes = [plan, ctypes.POINTER(PostArgs)]
    lib.mhc_post_plan_can_implement.restype = status
    lib.mhc_post_plan_workspace_size.argtypes = [plan]
    lib.mhc_post_plan_workspace_size.restype = ctypes.c_size_t
    lib.mhc_post_plan_sku.argtypes = [plan]
    lib.mhc_post_plan_sku.restype = ctypes.c_char_p
    lib.mhc_post_plan_precision_guarantee.argtypes = [plan, ctypes.POINTER(Precision)]
    lib.mhc_post_plan_precision_guarantee.restype = status
    lib.mhc_post_plan_run.argtypes = [plan, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.POINTER(PostArgs)]
    lib.mhc_post_plan_run.restype = status
    lib.mhc_pre_descriptor_init.argtypes = [ctypes.POINTER(PreDescriptor),
                                            ctypes.c_int64, ctypes.c_int64]
    lib.mhc_pre_descriptor_init.restype = None
    lib.mhc_pre_plan_select.argtypes = [ctypes.c_void_p, ctypes.POINTER(PreDescriptor),
                                        ctypes.POINTER(Preference), ctypes.POINTER(plan)]
    lib.mhc_pre_plan_select.restype = status
    lib.mhc_pre_plan_destroy.argtypes = [plan]
    lib.mhc_pre_plan_destroy.restype = None
    lib.mhc_pre_plan_can_implement.argtypes = [plan, ctypes.POINTER(PreArgs)]
    lib.mhc_pre_plan_can_implement.restype = status
    lib.mhc_pre_plan_workspace_size.argtypes = [plan, ctypes.c_int64]
    lib.mhc_pre_plan_workspace_size.restype = ctypes.c_size_t
    lib.mhc_pre_plan_sku.argtypes = [plan]
    lib.mhc_pre_plan_sku.restype = ctypes.c_char_p
    lib.mhc_pre_plan_precision_guarantee.argtypes = [plan, ctypes.POINTER(Precision)]
    lib.mhc_pre_plan_precision_guarantee.restype = status
    lib.mhc_pre_plan_run.argtypes = [plan, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.POINTER(PreArgs)]
    lib.mhc_pre_plan_run.restype = status
    lib.mhc_last_error.argtypes = []
    lib.mhc_last_error.restype = ctypes.c_char_p
    _lib = lib
    return lib
