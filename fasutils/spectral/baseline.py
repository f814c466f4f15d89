"""How far frequency cues alone go: logistic regression on radial-spectrum features of face crops.

Score convention: the model outputs P(spoof); labels are ``is_spoof``. Introduced in
``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.images import read_image
from fasutils.data.crops import JOHNRAIVENOLAZO_1_5, CropConvention, crop_face
from fasutils.spectral.spectra import high_frequency_ratio, luma_chroma, radial_profile


def radial_features(image: np.ndarray, box: Sequence[float], convention: CropConvention = JOHNRAIVENOLAZO_1_5,
                    bins: int = 24) -> np.ndarray:
    """log10 radial power of the luma and of both chroma channels of the face crop, plus the luma HF ratio."""
    crop = crop_face(image, box, convention)  # (S, S, 3) RGB uint8
    channels = luma_chroma(crop)
    profiles = [np.log10(radial_profile(channel, bins=bins)[1] + 1e-6) for channel in channels]
    return np.concatenate([*profiles, [high_frequency_ratio(channels[0])]]).astype(np.float32)


def feature_matrix(records: Sequence, bins: int = 24, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 3 * bins + 1) and labels (N,) for dataset records with face boxes."""
    rows = [radial_features(read_image(r.path), r.box, bins=bins)
            for r in tqdm(records, desc="spectral features", unit="image", disable=not progress)]
    return np.stack(rows), np.array([int(r.is_spoof) for r in records])


def fit_baseline(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> Pipeline:
    """Standardised features, then L2-regularised logistic regression (balanced classes)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced",
                                                               random_state=seed))
    return model.fit(features, labels)
