"""Check that fasutils.training.loop.train runs under torchrun: each rank writes a hash of its final weights.

    python -m torch.distributed.run --standalone --nproc_per_node 2 scripts/train_ddp_check.py MANIFEST OUT_DIR

MANIFEST is a fasutils CSV manifest with ``train`` and ``val`` splits and face boxes; the run is one epoch of a
tiny configuration. Every rank writes ``OUT_DIR/weights-rank<N>.sha256``; equal files mean the ranks agree.
Used by ``tests/test_training.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import torch

from fasutils.data.readers import read_manifest
from fasutils.training.config import TrainConfig
from fasutils.training.loop import train


def state_hash(model: torch.nn.Module) -> str:
    """sha256 over every tensor of the state dict, in key order."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    records = read_manifest(args.manifest, strict=True).records
    config = TrainConfig(epochs=args.epochs, batch_size=8, lr=0.01)
    result = train(config, [r for r in records if r.split == "train"], [r for r in records if r.split == "val"],
                   args.out_dir / "run", resume=False, progress=False)
    rank = int(os.environ.get("RANK", "0"))
    (args.out_dir / f"weights-rank{rank}.sha256").write_text(state_hash(result.model) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
