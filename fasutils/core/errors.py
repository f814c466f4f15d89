"""The errors users see: one class per stage of the suite, each a problem the user can fix.

Every message names the thing at fault (a file, a parameter, a model) and what to do about it. The command line
prints the message alone (no traceback) and exits with code 2; notebooks show it as raised. Stage errors are also
``ValueError``s, so code that caught the built-in error keeps working.
"""

from __future__ import annotations

from numbers import Integral  # int and NumPy's integers alike


class FasError(Exception):
    """A user-fixable problem. Its message names the thing at fault and what to do about it."""


class AssetError(FasError, ValueError):
    """A reference file that is not registered, or whose bytes are not the registered ones."""


class AssetMissing(AssetError):
    """The reference directory, or a registered file in it, is absent (fetch it, or point FAS_REFERENCE_DIR at it)."""


class InputFileError(FasError, ValueError):
    """A file given as input that is missing, empty, corrupt or not of a kind the suite reads.

    ``problem`` is a short key for counting ("not found", "empty", "truncated", "corrupt", "unreadable video", ...);
    ``detail`` the message without the path.
    """

    def __init__(self, path: object, problem: str, detail: str) -> None:
        super().__init__(f"{detail}: {path}")
        self.path, self.problem, self.detail = path, problem, detail


class ImageReadError(InputFileError):
    """An image file that is missing, empty, truncated, corrupt or in a form OpenCV cannot decode."""


class DataError(FasError, ValueError):
    """A dataset, manifest, face box, crop, augmentation or input that does not fit what it is given to."""


class SimulationError(FasError, ValueError):
    """Bad input or settings for the camera model or the attack simulation."""


class SpectralError(FasError, ValueError):
    """An image or setting the spectra or the Fourier target cannot be computed from."""


class ModelError(FasError, ValueError):
    """A model configuration, input, weights file or classifier name that cannot be used."""


class TrainingError(FasError, ValueError):
    """A training configuration, training data or checkpoint that cannot be used, or a run that diverged."""


class TrainingInterrupted(FasError):
    """Training stopped on SIGINT (Ctrl-C) after saving ``last.pt``; ``train(..., resume=True)`` continues it.

    ``result`` is the :class:`fasutils.training.TrainResult` of the epochs finished so far.
    """

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result


class ExportError(FasError, ValueError):
    """A model that cannot be exported, quantized or read back: ONNX files, INT8 calibration data."""


class UntrainedModelError(ExportError):
    """A model about to be exported whose BatchNorm statistics were never trained."""


class DetectionError(FasError, ValueError):
    """A face detector that cannot be loaded (its ONNX or ncnn files), an input it cannot read, or pipeline settings
    that do not work."""


class BenchmarkError(FasError, ValueError):
    """A benchmark setting or model that cannot be measured."""


class EvaluationError(FasError, ValueError):
    """Scores, labels, thresholds, data or reports that PAD metrics cannot be computed from."""


class NotebookError(FasError):
    """A notebook that breaks the suite's notebook rules, or cannot be executed."""


class ToolingError(FasError, ValueError):
    """A tool around the notebooks (the browser demo, the ship step) that cannot do what was asked."""


def positive_int(value: object, name: str, error: type[FasError] = FasError) -> int:
    """``value`` (an ``int`` or NumPy integer, not a bool) as an ``int`` of at least 1, else ``error`` naming ``name``
    and the value given. The one positive-integer check of the suite."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise error(f"{name} must be a positive integer, not {value!r}")
    return int(value)
