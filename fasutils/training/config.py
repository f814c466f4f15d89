"""The training configuration: :class:`TrainConfig`, every choice of a run in one validated frozen dataclass.

Its defaults are minivision's published recipe (minivision-ai/Silent-Face-Anti-Spoofing, ``src/default_config.py``
and ``src/train_main.py``), which hairymax/Face-AntiSpoofing (``src/config.py``) and
johnraivenolazo/face-antispoof-onnx (``src/minifasv2/config.py``) keep but for 50 epochs and a fourth milestone:
MultiFTNet V2SE, loss ``0.5 * CrossEntropy + 0.5 * MSE(Fourier map, Fourier target)``, SGD lr 0.1 momentum 0.9
weight decay 5e-4, MultiStepLR γ 0.1 at epochs 10, 15, 22 of 25 (here: at the same fractions of ``epochs``).
One published inconsistency is a choice here: the trainers compute the Fourier target on the *un-augmented*
image (``generate_FT`` in minivision's ``src/data_io/dataset_folder.py``), so it disagrees with the flipped,
rotated input the network sees; ``ft_target_from="augmented"`` (the default) computes it on the same image,
``"original"`` reproduces the published behaviour. The suite feeds its own models RGB / 255; labels are
0 live / 1 spoof (or the index in :data:`~fasutils.data.records.ATTACK_TYPES` with ``num_classes=6``).

Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from fasutils.core.errors import TrainingError, positive_int
from fasutils.data.crops import CONVENTIONS, CropConvention
from fasutils.data.input_convention import InputConvention
from fasutils.data.records import ATTACK_TYPES
from fasutils.models.architecture import CLASSIFIER_STAGES, VARIANTS, MultiFTNet, minifasnet
from fasutils.models.published import PUBLISHED
from fasutils.spectral.fourier import fourier_target_size

RESUME_FREE_FIELDS = ("num_workers",)  # may differ on resume: they do not change the result


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (validated on creation). Defaults: the published recipe."""

    variant: str = "V2SE"  # MiniFASNet variant, one of VARIANTS
    input_size: int = 80  # square crop side in px (80: minivision; 128: hairymax / johnraivenolazo)
    crop: str = "minivision-2.7"  # crop convention, a key of fasutils.data.crops.CONVENTIONS (its size -> input_size)
    num_classes: int = 2  # 2: live / spoof; 6: one class per attack type (ATTACK_TYPES order, 0 = live);
    # fine-tuning: the source's own classes, live first, its spoof classes pooled into P(spoof)
    epochs: int = 25  # minivision trains 25, hairymax and johnraivenolazo 50
    batch_size: int = 64  # per process (minivision 1024 on 4 GPUs, hairymax 256)
    optimizer: str = "sgd"  # "sgd" (published) or "adamw"
    lr: float = 0.1  # published SGD rate; about 1e-3 suits adamw
    momentum: float = 0.9  # SGD only
    weight_decay: float = 5e-4
    schedule: str = "auto"  # "step" (MultiStepLR), "cosine" (CosineAnnealingLR), "auto": step for sgd, cosine for adamw
    milestones: tuple[float, ...] = (0.4, 0.6, 0.88)  # step schedule, fractions of epochs (minivision 10, 15, 22 of 25)
    gamma: float = 0.1  # step schedule factor
    cls_weight: float = 0.5  # weight of the cross-entropy loss
    ft_weight: float = 0.5  # weight of the Fourier MSE loss; 0 builds the model without the Fourier branch
    ft_target_from: str = "augmented"  # "augmented": target of the image the network sees; "original": published
    augment: bool = True  # the published augmentations on training crops
    balance: str = "weights"  # "weights": class-weighted loss, "sampler": class-balanced draws, "none"
    seed: int = 0  # model init, sample order, augmentation and dropout all derive from it
    init_from: str = ""  # "": from scratch; else a published model to fine-tune (fasutils.training.transfer)
    freeze: tuple[str, ...] = ()  # classifier stages kept as they start (CLASSIFIER_STAGES names), BatchNorm too
    anchor_weight: float = 0.0  # L2-SP: weight of sum ||w - w_source||^2 over the transferred weights
    num_workers: int = 0  # DataLoader worker processes (0: load in the training process)

    def __post_init__(self) -> None:
        choices = {"variant": tuple(VARIANTS), "crop": tuple(CONVENTIONS), "optimizer": ("sgd", "adamw"),
                   "schedule": ("auto", "step", "cosine"), "ft_target_from": ("augmented", "original"),
                   "balance": ("weights", "sampler", "none")}
        if not self.init_from:
            choices["num_classes"] = (2, len(ATTACK_TYPES))
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise TrainingError(f"{name} must be one of {', '.join(map(str, allowed))}, "
                                    f"not {getattr(self, name)!r}")
        for name in ("input_size", "epochs", "batch_size"):
            positive_int(getattr(self, name), name, TrainingError)
        if self.batch_size < 2:
            raise TrainingError("batch_size must be at least 2: BatchNorm cannot train on single images")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 <= self.momentum < 1 and 0 < self.gamma <= 1):
            raise TrainingError(f"need lr > 0, weight_decay >= 0, 0 <= momentum < 1 and 0 < gamma <= 1; got lr "
                                f"{self.lr}, weight_decay {self.weight_decay}, momentum {self.momentum}, "
                                f"gamma {self.gamma}")
        if not all(0 < f < 1 for f in self.milestones):
            raise TrainingError(f"milestones are fractions of the run, each in (0, 1), not {self.milestones!r}")
        if self.cls_weight < 0 or self.ft_weight < 0 or self.cls_weight + self.ft_weight == 0:
            raise TrainingError(f"cls_weight and ft_weight must be >= 0 and not both 0, not "
                                f"{self.cls_weight}, {self.ft_weight}")
        unknown = [name for name in self.freeze if name not in CLASSIFIER_STAGES]
        if unknown:
            raise TrainingError(f"freeze names unknown stages {', '.join(map(repr, unknown))}; the classifier's "
                                f"stages are {', '.join(CLASSIFIER_STAGES)}")
        if (self.freeze or self.anchor_weight) and not self.init_from:
            raise TrainingError("freeze and anchor_weight keep weights of a source model: set init_from too")
        if self.anchor_weight < 0:
            raise TrainingError(f"anchor_weight must be >= 0, not {self.anchor_weight}")
        if self.num_workers < 0:
            raise TrainingError(f"num_workers must be >= 0, not {self.num_workers}")
        fourier_map, target = -(-self.input_size // 8), fourier_target_size((self.input_size, self.input_size))[0]
        if self.with_fourier and fourier_map != target:
            raise TrainingError(f"input_size {self.input_size} cannot train the Fourier branch: it predicts a "
                                f"{fourier_map}x{fourier_map} map but the target is {target}x{target}; use a "
                                "side whose remainder mod 16 is 0 or 9-15 (80, 128 ...), or ft_weight=0")

    @property
    def with_fourier(self) -> bool:
        """The model has the Fourier branch (``ft_weight > 0``)."""
        return self.ft_weight > 0

    @property
    def schedule_kind(self) -> str:
        """"step" or "cosine" ("auto" resolved by the optimizer)."""
        if self.schedule != "auto":
            return self.schedule
        return "step" if self.optimizer == "sgd" else "cosine"

    @property
    def per_attack_type(self) -> bool:
        """One class per attack type (trained on the type), rather than live against spoof."""
        return self.num_classes == len(ATTACK_TYPES) and not self.init_from

    @property
    def label_classes(self) -> int:
        """The classes the loss tells apart: the attack types, or live and spoof."""
        return len(ATTACK_TYPES) if self.per_attack_type else 2

    @property
    def classes(self) -> tuple[str, ...]:
        """The model's output classes, live first: live/spoof, the attack types, or a fine-tuned source's own."""
        if self.per_attack_type:
            return tuple(ATTACK_TYPES)
        if self.init_from in PUBLISHED:
            source = PUBLISHED[self.init_from].convention
            return (source.classes[source.live_index],
                    *(name for index, name in enumerate(source.classes) if index != source.live_index))
        return ("live", "spoof")

    def milestone_epochs(self) -> list[int]:
        """The step schedule's milestones in epochs: ``round(fraction * epochs)``, those inside the run."""
        return sorted({round(f * self.epochs) for f in self.milestones} & set(range(1, self.epochs)))

    def crop_convention(self) -> CropConvention:
        """The crop convention named by ``crop``, resized to ``input_size``."""
        return replace(CONVENTIONS[self.crop], size=(self.input_size, self.input_size))

    def input_convention(self) -> InputConvention:
        """How the trained model reads its input: this crop, RGB / 255, classes live/spoof (or ATTACK_TYPES)."""
        classes = self.classes
        return InputConvention(f"fasutils MiniFASNet{self.variant} {self.crop} {self.input_size}x{self.input_size}",
                               self.crop_convention(), "rgb", 1 / 255, classes, 0)

    def build_model(self) -> MultiFTNet:
        """A freshly initialised model of this configuration (with the Fourier branch when ``ft_weight > 0``)."""
        size = (self.input_size, self.input_size)
        return minifasnet(self.variant, size, self.num_classes, with_fourier=self.with_fourier)

    def to_dict(self) -> dict:
        """Plain values only (tuples become lists), as stored in checkpoints and metrics files."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The inverse of :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})
