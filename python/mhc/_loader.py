"""Finds and loads one of the package's shared libraries."""
import ctypes
import os


def load(env_var, filename):
    """`$env_var` if set, else `lib/<filename>` beside the package."""
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in (os.environ.get(env_var), os.path.join(here, "lib", filename)) if p]
    errors = []
    for path in paths:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise OSError(f"cannot load {filename}; set {env_var}. Tried: " + "; ".join(errors))
