"""The one-process or ``torchrun`` context of a training run: joining the process group, and the collective
helpers the loop needs (sums over ranks, "did any rank ...", averaged BatchNorm statistics).

Under ``torchrun`` (WORLD_SIZE > 1) the group uses gloo on the CPU and nccl on CUDA; a single process needs no
group, and the collective helpers then pass their values through. Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class DistContext:
    """This process's place in a (possibly one-process) distributed run."""

    rank: int
    world: int
    device: torch.device
    owns_group: bool  # setup_distributed() created the process group; train() destroys it

    @property
    def main(self) -> bool:
        """This is rank 0, the process that writes files."""
        return self.rank == 0


def setup_distributed() -> DistContext:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    cuda = torch.cuda.is_available()
    owns = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    return DistContext(rank, world, device, owns)


def sum_over_ranks(values: Tensor, world: int) -> Tensor:
    """``values`` summed over every process, in place (every process must call it)."""
    if world > 1:
        dist.all_reduce(values)
    return values


def any_rank(flag: bool, world: int) -> bool:
    """True on every process when ``flag`` is True on any (every process must call it)."""
    return bool(sum_over_ranks(torch.tensor([float(flag)]), world).item())


def average_buffers(model: nn.Module, world: int) -> None:
    """Average BatchNorm running statistics over processes: each one updated them on its own batches."""
    if world > 1:
        for buffer in model.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer.div_(world)
