"""What a training run feeds the network: :class:`SpoofTrainingDataset` (face crops, augmented with the published
transforms of :mod:`fasutils.data.augment`, with their label and Fourier target), a class-balanced sampler that
shards like ``DistributedSampler``, and the inverse-frequency class weights of the weighted loss.

Augmentations and sample order derive from (seed, epoch, index), so a resumed or data-parallel run sees the
same items without a stored generator. Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, DistributedSampler

from fasutils.core.errors import TrainingError
from fasutils.data.augment import augment
from fasutils.data.crops import CropConvention
from fasutils.data.records import Record
from fasutils.data.torch_dataset import FaceCropDataset
from fasutils.spectral.fourier import fourier_target, fourier_target_size
from fasutils.training.config import TrainConfig


class SpoofTrainingDataset(Dataset):
    """Records as training items ``(input (3, H, W) float32 RGB / 255, label, Fourier target (1, h, w))``.

    In train mode each crop is augmented with a generator seeded by (seed, epoch, index), so an item is the
    same in every run and process; call :meth:`set_epoch` to move to the next epoch's draws. Raises
    :class:`TrainingError` for an empty or one-class training split and for a crop size the model cannot take.
    """

    def __init__(self, records: Sequence[Record], config: TrainConfig, train: bool,
                 convention: CropConvention | None = None) -> None:
        convention = convention or config.crop_convention()
        if tuple(convention.size) != (config.input_size, config.input_size):
            raise TrainingError(f"crop convention {convention.name!r} cuts {convention.size[0]}x{convention.size[1]} "
                                f"crops, but the model takes {config.input_size}x{config.input_size}; pass "
                                "dataclasses.replace(convention, size=...) or change input_size")
        target = "attack_type" if config.per_attack_type else "is_spoof"
        self.crops = FaceCropDataset(records, convention, target=target)
        self.config = config
        self.train = train
        self.epoch = 0
        self.ft_size = fourier_target_size(convention.size)  # (h, w)
        self.labels = [self.crops.label(i) for i in range(len(self.crops))]
        if train:
            spoof = sum(record.is_spoof for record in records)
            if len(records) - spoof == 0 or spoof == 0:
                raise TrainingError(f"the training split has {len(records) - spoof} live and {spoof} spoof images; a "
                                    "classifier needs both: check the split names and labels of the records")

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s augmentation draws."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[Tensor, int, Tensor]:
        crop = self.crops.crop(index)  # (H, W, 3) uint8 RGB
        seen = crop
        if self.train and self.config.augment:
            seen = augment(crop, np.random.default_rng([self.config.seed, self.epoch, index]))
        image = torch.from_numpy(seen).permute(2, 0, 1).float().div_(255)  # (3, H, W)
        if self.config.with_fourier:
            source = seen if self.config.ft_target_from == "augmented" else crop
            target = torch.from_numpy(fourier_target(source, self.ft_size))[None]  # (1, h, w)
        else:
            target = torch.zeros(1, *self.ft_size)  # (1, h, w), unused
        return image, self.labels[index], target


class BalancedDistributedSampler(DistributedSampler):
    """Draws ``len(dataset)`` indices with replacement, every class equally likely, sharded like DistributedSampler.

    The draw depends on (seed, epoch) only, so every process agrees and a resumed run repeats it.
    """

    def __init__(self, dataset: Dataset, labels: Sequence[int], num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        counts = Counter(labels)
        self.weights = torch.tensor([1 / counts[label] for label in labels], dtype=torch.float64)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        drawn = torch.multinomial(self.weights, self.total_size, replacement=True, generator=generator).tolist()
        return iter(drawn[self.rank:self.total_size:self.num_replicas])


def class_weights(labels: Sequence[int], num_classes: int) -> Tensor:
    """Inverse-frequency weights ``n / (classes present x count)``; absent classes weigh 0."""
    counts = Counter(labels)
    present = len(counts)
    return torch.tensor([len(labels) / (present * counts[c]) if counts[c] else 0.0 for c in range(num_classes)])
