"""Records as a PyTorch dataset of model-size face crops (:class:`FaceCropDataset`), for training and evaluation.

The only module of :mod:`fasutils.data` that imports torch. Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from fasutils.core.errors import DataError
from fasutils.core.images import read_image
from fasutils.data.crops import CropConvention, crop_face
from fasutils.data.records import ATTACK_TYPES, Record


class FaceCropDataset(Dataset):
    """Records as model-size face crops: ``(float32 tensor (3, H, W), label)`` per item.

    The crop is cut per ``convention`` (any :class:`~fasutils.data.crops.CropConvention`; change its ``size`` with
    ``dataclasses.replace``) from the RGB image; values stay 0-255 (uint8 to float, channels first). Model-specific
    scaling or colour order go into ``transform``. ``target`` "is_spoof" gives 0 live / 1 spoof; "attack_type"
    gives the index in :data:`ATTACK_TYPES`. Every record needs a face box: detection is another module's job.
    """

    def __init__(self, records: Sequence[Record], convention: CropConvention, *, target: str = "is_spoof",
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if target not in {"is_spoof", "attack_type"}:
            raise DataError(f"target must be 'is_spoof' or 'attack_type', not {target!r}")
        boxless = [record.path for record in records if record.box is None]
        if boxless:
            raise DataError(f"{len(boxless)} of {len(records)} records have no face box (first: {boxless[0]}); "
                            "run a face detector on them first, or read the dataset with its boxes")
        self.records = list(records)
        self.convention = convention
        self.target = target
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def label(self, index: int) -> int:
        """The label of item ``index`` without reading its image."""
        record = self.records[index]
        return int(record.is_spoof) if self.target == "is_spoof" else ATTACK_TYPES.index(record.attack_type)

    def crop(self, index: int) -> np.ndarray:
        """The uint8 RGB crop of item ``index``, as a notebook would show it."""
        record = self.records[index]
        return crop_face(read_image(record.path, "rgb"), record.box, self.convention)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        tensor = torch.from_numpy(self.crop(index)).permute(2, 0, 1).contiguous().float()
        if self.transform is not None:
            tensor = self.transform(tensor)
        return tensor, self.label(index)
