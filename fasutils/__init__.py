"""fasutils: the helper package behind the FAS Lab face anti-spoofing notebooks.

One module per concern; notebooks import what they teach, e.g. ``from fasutils import assets, paths``.
Heavy libraries (torch, onnxruntime) are imported by the modules that need them, not here.
"""

from fasutils.errors import FasError

__version__ = "0.1.0"
__all__ = ["FasError", "__version__"]
