"""Video files as a sequence of sampled frames: every ``every``-th frame, decoded by ``cv2.VideoCapture``.

The readers (:mod:`fasutils.data.readers`, :mod:`fasutils.data.oulu_npu`) list a video as one record and check
it opens with :func:`check_video`; the evaluation and the pipeline decode its frames with :func:`video_frames`,
so a 300-frame video sampled every 10th frame costs 30 decoded frames. :func:`write_video` writes the small test
and demonstration clips. Introduced in ``07_evaluation_report.ipynb`` (``05_yolov7_lite_detection.ipynb`` runs the
pipeline on a video).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from fasutils.core.errors import DataError, InputFileError, positive_int

DEFAULT_EVERY = 10  # the evaluation scores every 10th frame (3 per second of a 30 fps video)
FOURCC = {".avi": "MJPG", ".mp4": "mp4v", ".mov": "mp4v", ".mkv": "MJPG"}  # codecs OpenCV writes without extras


def video_frames(path: str | Path, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB uint8 frame) of frames 0, every, 2 * every, ...; :class:`InputFileError` (problem
    "unreadable video") when the video cannot be opened or yields no frame."""
    every = positive_int(every, "every (the video frame step)", DataError)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputFileError(path, "unreadable video", "cannot open the video (not a video, corrupt, or "
                                 "a codec OpenCV's FFmpeg lacks)")
        index = 0
        while capture.grab():  # grab without decoding the frames that are skipped
            if index % every == 0:
                ok, frame = capture.retrieve()
                if ok:
                    yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
        if index == 0:
            raise InputFileError(path, "unreadable video", "the video opens but no frame can be decoded")
    finally:
        capture.release()


def frame_count(path: str | Path) -> int:
    """The frame count the video's header states (0 when unknown); cheap, but not proof the frames decode."""
    capture = cv2.VideoCapture(str(path))
    try:
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    finally:
        capture.release()


def check_video(path: str | Path) -> None:
    """Decode the first frame: :class:`InputFileError` ("unreadable video") when the file is missing, cannot be
    opened or holds no decodable frame."""
    if not Path(path).is_file():
        raise InputFileError(path, "unreadable video", "video not found")
    next(video_frames(path), None)


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 10.0) -> Path:
    """Write RGB uint8 frames of one size to ``path`` (``.avi``: Motion JPEG; ``.mp4``, ``.mov``: MPEG-4 part 2)."""
    path = Path(path)
    if path.suffix.lower() not in FOURCC:
        raise DataError(f"cannot write a {path.suffix or 'suffix-less'} video; use one of {', '.join(FOURCC)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for frame in frames:
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix.lower()]), fps, size)
            if (frame.shape[1], frame.shape[0]) != size or frame.dtype != np.uint8:
                raise DataError(f"every frame of {path.name} must be uint8 of {size[0]}x{size[1]}, not "
                                f"{frame.dtype} {frame.shape[1]}x{frame.shape[0]}")
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()
    if writer is None:
        raise DataError(f"no frames to write into {path}")
    return path
