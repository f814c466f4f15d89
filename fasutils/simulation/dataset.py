"""Build the suite's offline anti-spoofing dataset: camera-model live images and simulated attacks.

Every face of the live pool (:mod:`fasutils.data.live_pool`) is photographed by the same camera model as a live
capture and as each simulated attack (:mod:`fasutils.simulation.attacks`), so the only difference a classifier can
learn is the attack itself. Live and attack share their context too: a person with a matte (the studio headshots)
stands before a scene or wall (:mod:`fasutils.simulation.backdrops`) in the live capture and in the photo an
attacker shows; the face has the same size in the frame in both; and most attacks are *tight*, the medium filling
the frame with no border or bezel in view, as in most real replays (measured with
:func:`fasutils.evaluation.shortcuts.context_probe`). A spoof stays in the split of the live face it was made
from. The build runs on all cores with a progress bar, writes into a temporary folder renamed into place when
complete (an interrupted build leaves nothing half-written), and is reused when the same specification was built
before.

Run-time local cache for research and teaching; not redistributed; no derivatives shared.
Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.errors import SimulationError
from fasutils.core.images import over_background
from fasutils.core.paths import cache_dir
from fasutils.data.faces import FaceDetector, face_points
from fasutils.data.live_pool import (
    LICENCE_NOTE,
    PoolFace,
    SkippedSource,
    available_images,
    faces_of,
)
from fasutils.data.readers import read_manifest, write_manifest
from fasutils.data.records import ReadReport, Record
from fasutils.simulation.attacks import simulate
from fasutils.simulation.backdrops import place_in_scene
from fasutils.simulation.camera import CameraConfig, adjust_colour
from fasutils.simulation.configs import (
    KINDS,
    SIMULATED_ATTACKS,
    CutPhotoConfig,
    LiveConfig,
    PrintConfig,
    ReplayConfig,
    SceneConfig,
)

BUILDER_VERSION = 4  # bump when the generated images change, so cached builds are rebuilt
# One camera for every capture, live or attack. It meters as webcams do (auto exposure, grey-world white balance),
# so a dim print and a bright screen come out at levels and colours a live capture has too, and its processing
# varies, so a medium's own loss of colour and contrast is not outside what live captures show.
CAMERA = CameraConfig(auto_exposure=(0.15, 0.35), auto_white_balance=(0.5, 1.0), saturation=(0.6, 1.3),
                      contrast=(0.75, 1.2))
PHOTO_PRINT_SATURATION = (0.8, 1.0)  # photo prints keep most of the chroma of skin tones (PrintConfig: 0.7-0.9)
# The attacker's photo was taken by another camera, most often a phone, whose processing is punchier than a
# webcam's: saturation and contrast raised before the photo is printed or shown (the medium then takes some back).
SOURCE_PHOTO_SATURATION, SOURCE_PHOTO_CONTRAST = (1.0, 1.5), (1.0, 1.2)


@dataclass(frozen=True)
class DatasetSpec:
    """What to build. QUICK keeps a deterministic subset of faces and smaller images."""

    quick: bool = False
    seed: int = 0  # every image's random stream derives from (seed, face, kind)
    attacks: tuple[str, ...] = SIMULATED_ATTACKS
    min_native_face_width: float = 36.0  # px in the original photo; smaller faces are left out
    min_face_width: float = 80.0  # px in the stored source crop (small faces are upsampled, and flagged)
    context: float = 3.0  # live frame side / face size, before the output keeps 1/frame_shrink of it (~2.7x)
    frame_shrink: float = 1.1  # output side = frame side / frame_shrink, so live framing never magnifies
    source_context: float = 4.5  # stored source crop side / face size: what a tight attack's medium shows
    tight_share: float = 0.85  # share of attacks whose medium fills the frame (no border or bezel in view)
    shared_context: bool = True  # matted people stand in the attacks' kinds of scenes, attack photos as a phone
    # took them; False: people before their studio backdrop, as photographed (the context shortcut, for comparison)
    medium_extent: tuple[float, float] = (1.5, 2.5)  # how much of the photo a bordered attack shows, face sizes
    max_side: int = 400  # px, live frames larger than this are downsampled (source crops in proportion)
    max_faces: int | None = None  # keep at most this many faces (QUICK: 120)
    workers: int = 2  # processes; 0 renders in this process (for debugging)

    def __post_init__(self) -> None:
        if not 0.0 <= self.tight_share <= 1.0:
            raise SimulationError(f"tight_share must lie in [0, 1], not {self.tight_share!r}")
        if not self.source_context >= self.context > 0:
            raise SimulationError(f"source_context ({self.source_context}) must be at least context "
                                  f"({self.context}), which must be positive")

    @classmethod
    def for_mode(cls, quick: bool, **overrides) -> DatasetSpec:
        """The suite's defaults for QUICK or full mode."""
        defaults = {"max_faces": 120, "max_side": 300} if quick else {}
        return cls(quick=quick, **{**defaults, **overrides})

    def fingerprint(self) -> str:
        """A short hash of everything that changes the images (not the worker count)."""
        settings = {k: v for k, v in asdict(self).items() if k != "workers"} | {"version": BUILDER_VERSION}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class BuiltDataset:
    """A finished build: its folder, the manifest as read back, and the build record (counts, timing)."""

    folder: Path
    report: ReadReport
    info: dict

    @property
    def manifest(self) -> Path:
        return self.folder / "manifest.csv"

    def params(self):
        """Every image's sampled simulation parameters (``params.jsonl``) as a DataFrame indexed by path."""
        import pandas as pd

        return pd.read_json(self.folder / "params.jsonl", lines=True).set_index("path")

    def pool_table(self):
        """Faces per source: count, identities, licence, native face width and how many were upsampled."""
        import pandas as pd

        live = [r for r in self.report.records if r.attack_type == "live"]
        params = self.params()
        widths = [params.loc[r.path.relative_to(self.folder).as_posix(), "native_face_width"] for r in live]
        upsampled = [w < self.info["spec"]["min_face_width"] for w in widths]
        faces = pd.DataFrame({"source": [r.source for r in live], "identity": [r.subject for r in live],
                              "licence": [r.licence for r in live], "width": widths, "upsampled": upsampled})
        table = faces.groupby("source").agg(faces=("identity", "size"), identities=("identity", "nunique"),
                                            median_face_px=("width", "median"), upsampled=("upsampled", "sum"),
                                            licence=("licence", lambda names: "; ".join(sorted(set(names)))))
        return table.sort_values("faces", ascending=False)

    def examples(self, subjects: int, seed: int = 0) -> list[tuple[str, list[Path]]]:
        """For ``subjects`` faces of the test split: the source crop, then the live image and each attack."""
        by_source: dict[str, list[Path]] = {}
        for record in self.report.records:
            if record.split == "test":
                by_source.setdefault(record.path.name.split("_")[0], []).append(record.path)
        rng = np.random.default_rng(seed)
        chosen = rng.choice(sorted(by_source), size=min(subjects, len(by_source)), replace=False)
        return [(str(key), [self.folder / "sources" / f"{key}.png", *sorted(by_source[key], key=_kind_order)])
                for key in sorted(chosen)]


def _kind_order(path: Path) -> int:
    return KINDS.index(path.stem.split("_", 1)[1])


def _select(faces: list[PoolFace], limit: int | None) -> list[PoolFace]:
    """At most ``limit`` faces, chosen by a hash of their key (stable, and spread over all sources)."""
    if limit is None or len(faces) <= limit:
        return faces
    return sorted(faces, key=lambda f: hashlib.sha256(f.key.encode()).hexdigest())[:limit]


def collect_faces(spec: DatasetSpec, detector: FaceDetector) -> tuple[list[PoolFace], list[SkippedSource]]:
    """Find the pool's faces with ``detector`` in every available photo (progress bar), honouring ``spec``."""
    images, skipped = available_images()
    faces = []
    for image in tqdm(images, desc="finding faces", unit="photo"):
        try:
            found = faces_of(image, detector, spec.min_native_face_width, spec.source_context, spec.min_face_width,
                             math.ceil(spec.max_side * spec.source_context / spec.context))
        except Exception as error:  # a broken photo is reported, not fatal: the pool is built from the rest
            skipped.append(SkippedSource(image.key, f"{type(error).__name__}: {error}"))
            continue
        if not found:
            skipped.append(SkippedSource(image.key, f"no face of at least {spec.min_native_face_width:.0f} px"))
        faces += found
    return _select(faces, spec.max_faces), skipped


@cache
def backgrounds() -> tuple[np.ndarray, ...]:
    """Rooms to hold attacks in: face-free scenes bundled with scikit-image and scikit-learn."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    scenes = [getattr(skimage.data, name)() for name in ("coffee", "chelsea", "rocket", "brick", "grass",
                                                          "gravel", "camera")]
    scenes += list(load_sample_images().images)
    return tuple(np.dstack([s] * 3) if s.ndim == 2 else s[..., :3] for s in scenes)


def _seed(spec_seed: int, key: str, kind: str) -> int:
    return int(hashlib.sha256(f"{spec_seed}|{key}|{kind}".encode()).hexdigest()[:16], 16)


def _render(job: tuple) -> dict:
    """Worker: photograph one source crop as ``kind``; writes the JPEG and returns its manifest fields.

    A failure comes back as ``{"error": ...}`` so that one bad image is reported, not the whole build lost.
    """
    try:
        return _photograph(*job)
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}


def medium_content(photo: np.ndarray, points: np.ndarray, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``photo`` an attacker prints or shows: a square of ``extent`` face sizes around the face.

    ``points`` as :func:`~fasutils.data.faces.face_points` lays them out; returns (content, points in
    content pixels).
    """
    (x0, y0), (x1, y1) = points[5:].min(axis=0), points[5:].max(axis=0)
    half = extent * max(x1 - x0, y1 - y0) / 2
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    left, top = np.maximum(0, np.floor(centre - half)).astype(int)
    right, bottom = np.minimum(photo.shape[1::-1], np.ceil(centre + half)).astype(int)
    return np.ascontiguousarray(photo[top:bottom, left:right]), points - (left, top)


def _attack_config(kind: str, tight: bool) -> PrintConfig | ReplayConfig | CutPhotoConfig:
    """The attack's configuration in the dataset: the face as large in the frame as in live captures, and for a
    tight attack the medium filling the frame."""
    scene = dataclasses.replace(SceneConfig(), face_scale=LiveConfig().face_scale, fill_frame=tight)
    printed = PrintConfig(scene=scene, saturation=PHOTO_PRINT_SATURATION)
    if kind == "cut_photo":
        return CutPhotoConfig(print=printed)
    return printed if kind == "print" else ReplayConfig(scene=scene)


def _photograph(source_path: str, points_json: str, kind: str, seed: int, out_side: int, target: str,
                spec: DatasetSpec) -> dict:
    cv2.setNumThreads(1)  # one process per core already
    rng = np.random.default_rng(seed)
    stored = cv2.imread(source_path, cv2.IMREAD_UNCHANGED)
    photo = cv2.cvtColor(stored[..., :3], cv2.COLOR_BGR2RGB)
    points = np.array(json.loads(points_json))
    scenes = backgrounds()
    background = scenes[int(rng.integers(len(scenes)))]  # the room the capture is made in
    params: dict = {}
    matted = stored.shape[2] == 4
    if matted and spec.shared_context:  # a matted person: in the room (live), or in another scene (attacker's photo)
        behind = background if kind == "live" else scenes[int(rng.integers(len(scenes)))]
        photo, params = place_in_scene(photo, stored[..., 3], behind, rng)
    elif matted:  # before the studio backdrop, as read_image shows a transparent photo
        photo = over_background(np.dstack([photo, stored[..., 3]]))
    frame, frame_points = medium_content(photo, points, spec.context)
    framing = out_side / frame.shape[0]  # output px per source px: the face as large as in the live capture
    tight = kind != "live" and bool(rng.random() < spec.tight_share)
    if kind == "live":
        extent, photo, points = None, frame, frame_points
        shot = simulate(kind, photo, points, None, (out_side, out_side), rng, camera=CAMERA)
    else:
        if spec.shared_context:
            saturation, contrast = (float(rng.uniform(*r)) for r in (SOURCE_PHOTO_SATURATION, SOURCE_PHOTO_CONTRAST))
            processed = adjust_colour(photo.astype(np.float32) / 255, saturation, contrast)
            photo = np.round(np.clip(processed, 0, 1) * 255).astype(np.uint8)
            params.update(source_saturation=saturation, source_contrast=contrast)
        extent = spec.source_context if tight else float(rng.uniform(*spec.medium_extent))
        if not tight:
            photo, points = medium_content(photo, points, extent)
        shot = simulate(kind, photo, points, background, (out_side, out_side), rng,
                        config=_attack_config(kind, tight), framing=framing, camera=CAMERA)
    quality = int(shot.params.get("camera_jpeg_quality") or 95)  # re-encoding at the camera's own quality
    cv2.imwrite(target, cv2.cvtColor(shot.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    corners = shot.points[5:]
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    params.update({k: v for k, v in shot.params.items() if isinstance(v, int | float | str | bool) or v is None})
    params.update(medium_extent=extent, tight=tight, matted=matted)
    return {"box": (float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
            "landmarks": shot.points[:5].tolist(), "params": params}


def dataset_folder(spec: DatasetSpec) -> Path:
    """Where the build of ``spec`` lives in the cache."""
    return cache_dir() / f"synthetic-{'quick' if spec.quick else 'full'}-{spec.fingerprint()}"


def load_dataset(folder: Path) -> BuiltDataset:
    """A finished build read back (its manifest checked like any evaluator's manifest)."""
    info = json.loads((folder / "build.json").read_text(encoding="utf-8"))
    return BuiltDataset(folder, read_manifest(folder / "manifest.csv", source="synthetic"), info)


def build_dataset(spec: DatasetSpec, detector: FaceDetector, force: bool = False) -> BuiltDataset:
    """Build (or reuse) the dataset of ``spec`` in the cache and return it; ``detector`` finds the pool's faces
    (the suite uses :class:`fasutils.detection.YuNet`)."""
    folder = dataset_folder(spec)
    if (folder / "build.json").is_file() and not force:
        return load_dataset(folder)
    start = time.perf_counter()
    faces, skipped = collect_faces(spec, detector)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "sources").mkdir(parents=True)
    (partial / "images").mkdir()
    jobs, meta = [], []
    for index, face in enumerate(faces):
        source_path = partial / "sources" / f"{index:04d}.png"
        stored = cv2.cvtColor(face.crop, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(source_path), stored if face.matte is None else np.dstack([stored, face.matte]))
        out_side = int(round(face.crop.shape[0] * spec.context / spec.source_context / spec.frame_shrink))
        points = json.dumps(face_points(face.box, face.landmarks).tolist())
        for kind in ("live", *spec.attacks):
            target = partial / "images" / f"{index:04d}_{kind}.jpg"
            jobs.append((str(source_path), points, kind, _seed(spec.seed, face.key, kind), out_side, str(target),
                         spec))
            meta.append((face, kind, target))
    records, params = [], []
    backgrounds()  # fail here, once, if a background scene cannot be loaded
    synthesis_start = time.perf_counter()
    # forkserver: forking a parent that already runs OpenCV/onnxruntime threads can deadlock the children
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=max(1, spec.workers), mp_context=context) as pool:
        results = pool.map(_render, jobs, chunksize=4) if spec.workers else map(_render, jobs)  # 0: in-process
        for (face, kind, target), result in tqdm(zip(meta, results, strict=True), total=len(jobs), desc="photographing",
                                                 unit="image"):
            if "error" in result:
                skipped.append(SkippedSource(f"{face.key} as {kind}", result["error"]))
                continue
            records.append(Record(path=str(target), is_spoof=kind != "live", attack_type=kind,
                                  subject=face.identity, split=face.split, source=face.source, box=result["box"],
                                  landmarks=tuple(map(tuple, result["landmarks"])), licence=face.licence))
            params.append({"path": target.relative_to(partial).as_posix(), "origin": face.key,
                           "native_face_width": face.native_face_width,
                           "padded_fraction": face.padded_fraction, **result["params"]})
    synthesis_seconds = time.perf_counter() - synthesis_start
    write_manifest(records, partial / "manifest.csv")
    with open(partial / "params.jsonl", "w", encoding="utf-8") as stream:
        stream.writelines(json.dumps(row) + "\n" for row in params)
    info = {
        "spec": asdict(spec), "fingerprint": spec.fingerprint(), "builder_version": BUILDER_VERSION,
        "licence_note": LICENCE_NOTE, "faces": len(faces), "images": len(records),
        "faces_by_source": dict(Counter(f.source for f in faces)),
        "faces_by_split": dict(Counter(f.split for f in faces)),
        "identities_by_split": {s: len({f.identity for f in faces if f.split == s}) for s in ("train", "val", "test")},
        "upsampled_faces": sum(f.native_face_width < spec.min_face_width for f in faces),
        "skipped": [asdict(s) for s in skipped], "seconds": time.perf_counter() - start,
        "synthesis_images_per_second": len(records) / synthesis_seconds, "workers": spec.workers,
        "cores": os.cpu_count(),
    }
    (partial / "build.json").write_text(json.dumps(info, indent=1), encoding="utf-8")  # written last: complete
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return load_dataset(folder)
