"""The networks and their weights: MiniFASNet V1/V2/V1SE/V2SE with SE and the Fourier branch (a config table),
the published checkpoints loaded strictly into our code, and model summaries (parameters, MACs, layer tables,
SE gates). Taught in ``02_minifasnet_architecture.ipynb``.
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "architecture": "FourierGenerator MiniFASNet MiniFASNetConfig MultiFTNet VARIANTS minifasnet",
    "weights": "load_minifasnet",
    "published": "PUBLISHED",
    "summaries": "count_macs count_parameters layer_table se_gates",
})
