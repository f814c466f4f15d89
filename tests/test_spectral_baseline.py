import cv2
import numpy as np
from sklearn.metrics import roc_auc_score

from fasutils.spectral.baseline import fit_baseline, radial_features


def _image(seed: int, blurred: bool) -> np.ndarray:
    image = np.random.default_rng(seed).integers(0, 255, (160, 160, 3)).astype(np.uint8)
    return cv2.GaussianBlur(image, (0, 0), 1.5) if blurred else image


def test_features_have_one_profile_per_channel_and_the_hf_ratio():
    features = radial_features(_image(0, False), (40, 40, 80, 80), bins=16)
    assert features.shape == (3 * 16 + 1,) and np.isfinite(features).all()
    assert 0 < features[-1] < 1


def test_blur_is_learnable_from_frequency_features():
    images = [(_image(seed, seed % 2 == 1), seed % 2) for seed in range(40)]
    features = np.stack([radial_features(image, (40, 40, 80, 80)) for image, _ in images])
    labels = np.array([label for _, label in images])
    model = fit_baseline(features[:30], labels[:30])
    assert roc_auc_score(labels[30:], model.predict_proba(features[30:])[:, 1]) > 0.9
