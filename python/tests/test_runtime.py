"""The runtime's Python API without torch: errors carry the runtime's
category and reason, and a machine without a GPU gets a clean 'no device'."""
import ctypes

import pytest

import mhc
from mhc import _capi


def has_gpu():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def test_invalid_descriptor_raises_with_reason():
    with pytest.raises(mhc.MhcError) as e:
        mhc.HyperConnectionPlan(mhc.Descriptor(streams=4, channels=64, eps=0.0))
    assert e.value.category == "invalid argument"
    assert "eps must be positive and finite" in str(e.value)


def test_unsupported_stream_count():
    with pytest.raises(mhc.MhcError) as e:
        mhc.HyperConnectionPlan(mhc.Descriptor(streams=33, channels=64))
    assert e.value.category == "unsupported"


def test_bad_dtype_is_a_value_error():
    with pytest.raises(ValueError, match="weight dtype"):
        mhc.HyperConnectionPlan(mhc.Descriptor(streams=4, channels=64, weight_dtype="f16"))


@pytest.mark.skipif(has_gpu(), reason="a CUDA driver is present")
def test_no_device_is_reported():
    with pytest.raises(mhc.MhcError) as e:
        mhc.HyperConnectionPlan(mhc.Descriptor(streams=4, channels=4096))
    assert e.value.category == "no device"
    assert "libcuda" in str(e.value) or "device" in str(e.value)


def test_library_exposes_the_c_api():
    lib = _capi.library()
    d = _capi.Descriptor()
    lib.mhc_descriptor_init(ctypes.byref(d), 4, 4096)
    assert (d.streams, d.channels, d.sinkhorn_iters, d.weight) == (4, 4096, 20, _capi.DTYPE_BF16)


def test_post_descriptor_errors():
    with pytest.raises(mhc.MhcError) as e:
        mhc.PostPlan(mhc.PostDescriptor(streams=33, channels=64))
    assert e.value.category == "unsupported"
    with pytest.raises(mhc.MhcError) as e:
        mhc.PostPlan(mhc.PostDescriptor(streams=4, channels=0))
    assert e.value.category == "invalid argument" and "channels" in str(e.value)
    with pytest.raises(ValueError, match="sublayer dtype"):
        mhc.PostPlan(mhc.PostDescriptor(streams=4, channels=64, sublayer_dtype="f16"))
    with pytest.raises(ValueError, match="orientation"):
        mhc.PostPlan(mhc.PostDescriptor(streams=4, channels=64, orientation="both"))


@pytest.mark.skipif(has_gpu(), reason="a CUDA driver is present")
def test_post_no_device_is_reported():
    with pytest.raises(mhc.MhcError) as e:
        mhc.PostPlan(mhc.PostDescriptor(streams=4, channels=4096))
    assert e.value.category == "no device"


def test_library_exposes_the_post_c_api():
    lib = _capi.library()
    d = _capi.PostDescriptor()
    lib.mhc_post_descriptor_init(ctypes.byref(d), 4, 7168)
    assert (d.streams, d.channels, d.activation, d.sublayer, d.orientation) == \
        (4, 7168, _capi.DTYPE_BF16, _capi.DTYPE_BF16, _capi.MIX_DIRECT)


def test_pre_descriptor_errors():
    with pytest.raises(mhc.MhcError) as e:
        mhc.PrePlan(mhc.PreDescriptor(streams=9, channels=64))
    assert e.value.category == "unsupported" and "streams must be in [1, 8]" in str(e.value)
    with pytest.raises(mhc.MhcError) as e:
        mhc.PrePlan(mhc.PreDescriptor(streams=4, channels=0))
    assert e.value.category == "invalid argument" and "channels" in str(e.value)
    with pytest.raises(ValueError, match="sinkhorn_init"):
        mhc.PrePlan(mhc.PreDescriptor(streams=4, channels=64, sinkhorn_init="log"))


@pytest.mark.skipif(has_gpu(), reason="a CUDA driver is present")
def test_pre_no_device_is_reported():
    with pytest.raises(mhc.MhcError) as e:
        mhc.PrePlan(mhc.PreDescriptor(streams=4, channels=4096))
    assert e.value.category == "no device"


def test_library_exposes_the_pre_c_api():
    lib = _capi.library()
    d = _capi.PreDescriptor()
    lib.mhc_pre_descriptor_init(ctypes.byref(d), 4, 7168)
    assert (d.streams, d.channels, d.activation, d.projection, d.sinkhorn_iters) == \
        (4, 7168, _capi.DTYPE_BF16, _capi.DTYPE_BF16, 20)
