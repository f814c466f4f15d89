"""Spoof artefacts in the frequency domain: windowed spectra, radial profiles and peaks (numpy.fft), the Fourier
target MiniFASNet learns, a frequency-only baseline, confounds that mimic spoof peaks, and spectrum figures.
Taught in ``01_fft_spoof_artifacts.ipynb``.
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "spectra": "find_peaks high_frequency_ratio log_spectrum luma_chroma peak_score radial_profile",
    "fourier": "fourier_target fourier_target_area fourier_target_size full_fourier_map",
    "baseline": "feature_matrix fit_baseline radial_features",
    "confounds": "demosaiced generator_upsampled jpeg_blocks",
    "figures": "maps_figure radial_figure spectra_figure",
})
