"""Physically simulated attacks and the synthetic dataset: one camera model for every capture, halftone print,
display replay with its sub-pixels, scenes composited in 3D, the attacks themselves, parameter sweeps, and the
builder that photographs the live pool as live captures and as each attack. Taught in
``00_environment_and_data.ipynb`` (the attacks, the dataset) and ``01_fft_spoof_artifacts.ipynb`` (their spectra).
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "camera": "CameraConfig capture",
    "configs": "SIMULATED_ATTACKS CONFIG_TYPES KINDS BackdropConfig CutPhotoConfig LiveConfig PrintConfig ReplayConfig "
               "SceneConfig "
               "Simulated",
    "attacks": "render_scene simulate",
    "sweeps": "fixed sweep zoom",
    "backdrops": "place_in_scene",
    "dataset": "BuiltDataset DatasetSpec build_dataset load_dataset",
})
