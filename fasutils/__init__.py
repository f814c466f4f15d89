"""fasutils: the helper package behind the FAS Lab face anti-spoofing notebooks.

Subpackages in layer order, each importing only from those before it: ``core``, ``data``, ``simulation``,
``spectral``, ``models``, ``training``, ``export``, ``detection``, ``benchmark``, ``evaluation``, ``tooling``.
Heavy libraries (torch, onnxruntime) are imported by the modules that need them, not here.
"""

from fasutils.core.errors import FasError

LAYERS = ("core", "data", "simulation", "spectral", "models", "training", "export", "detection", "benchmark",
          "evaluation", "tooling")  # a subpackage imports only from itself and those before it

__version__ = "0.1.0"
__all__ = ["LAYERS", "FasError", "__version__"]
