"""Training on tiny generated data: items, errors, learning, checkpoints, resume, SIGINT, NaN, DDP, export."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fasutils.core.errors import ModelError, TrainingError, TrainingInterrupted
from fasutils.data.crops import MINIVISION_2_7
from fasutils.data.readers import write_manifest
from fasutils.data.records import Record
from fasutils.models.weights import load_minifasnet
from fasutils.spectral.fourier import fourier_target
from fasutils.training.checkpoints import (
    load_checkpoint,
    load_for_inference,
    save_for_inference,
)
from fasutils.training.config import TrainConfig
from fasutils.training.data import BalancedDistributedSampler, SpoofTrainingDataset
from fasutils.training.loop import BEST, LAST, train

PROJECT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(epochs=3, batch_size=8, lr=0.01)  # 32 training images: 4 steps an epoch, about 0.5 s


def make_records(folder: Path, per_class: int, split: str, seed: int) -> list[Record]:
    """Flat patches (live) and the same with dark stripes every 4 px (spoof), 64x64, face box in the middle."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(2 * per_class):
        spoof = index % 2 == 1
        image = np.tile(rng.integers(40, 220, 3), (64, 64, 1)) + rng.normal(0, 3, (64, 64, 3))  # (64, 64, 3)
        if spoof:
            image[:, ::4] *= 0.4
        path = folder / f"{split}_{index:03d}.png"
        cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8))
        records.append(Record(path=path, is_spoof=spoof, attack_type="print" if spoof else "live", split=split,
                              box=(16.0, 16.0, 32.0, 32.0)))
    return records


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[list[Record], list[Record]]:
    folder = tmp_path_factory.mktemp("patches")
    return make_records(folder, 16, "train", 0), make_records(folder, 8, "val", 1)


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """An uninterrupted three-epoch run, the reference for the resume tests."""
    return train(TINY, *data, tmp_path_factory.mktemp("straight"), progress=False)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def losses(history: list[dict]) -> list[tuple]:
    keys = ("train_loss", "train_cls_loss", "train_ft_loss", "train_acc", "val_loss", "val_acc", "val_auc", "lr")
    return [tuple(row[k] for k in keys) for row in history]


def test_items_are_scaled_rgb_with_fourier_target(data):
    train_set = SpoofTrainingDataset(data[0], TINY, train=True)
    image, label, target = train_set[1]
    assert image.shape == (3, 80, 80) and image.dtype == torch.float32 and 0 <= image.min() <= image.max() <= 1
    assert label == 1 and target.shape == (1, 10, 10) and target.dtype == torch.float32
    assert torch.equal(train_set[1][0], image)  # seeded per (seed, epoch, index)
    train_set.set_epoch(1)
    assert not torch.equal(train_set[1][0], image)
    val_set = SpoofTrainingDataset(data[0], TINY, train=False)
    crop = val_set.crops.crop(1)
    assert torch.equal(val_set[1][0], torch.from_numpy(crop).permute(2, 0, 1).float() / 255)
    assert torch.equal(val_set[1][2][0], torch.from_numpy(fourier_target(crop, (10, 10))))


def test_published_target_is_computed_before_augmentation(data):
    published = SpoofTrainingDataset(data[0], dataclasses.replace(TINY, ft_target_from="original"), train=True)
    consistent = SpoofTrainingDataset(data[0], TINY, train=True)
    original = torch.from_numpy(fourier_target(published.crops.crop(0), (10, 10)))
    assert torch.equal(published[0][2][0], original)
    assert torch.equal(published[0][0], consistent[0][0]) and not torch.equal(consistent[0][2][0], original)


def test_data_errors(data):
    live = [r for r in data[0] if not r.is_spoof]
    with pytest.raises(TrainingError, match="0 live and 0 spoof"):
        SpoofTrainingDataset([], TINY, train=True)
    with pytest.raises(TrainingError, match="16 live and 0 spoof"):
        SpoofTrainingDataset(live, TINY, train=True)
    assert len(SpoofTrainingDataset([], TINY, train=False)) == 0  # an empty validation split is allowed
    with pytest.raises(TrainingError, match="cuts 128x128 crops, but the model takes 80x80"):
        SpoofTrainingDataset(data[0], TINY, train=True, convention=dataclasses.replace(MINIVISION_2_7, size=(128, 128)))
    with pytest.raises(TrainingError, match="input_size 72 cannot train the Fourier branch"):
        TrainConfig(input_size=72)
    assert not TrainConfig(input_size=72, ft_weight=0).with_fourier
    with pytest.raises(TrainingError, match="optimizer must be one of sgd, adamw"):
        TrainConfig(optimizer="adam")


def test_schedule_follows_the_published_steps():
    assert TrainConfig().milestone_epochs() == [10, 15, 22]
    assert TrainConfig(epochs=50).milestone_epochs() == [20, 30, 44]
    assert TrainConfig(optimizer="adamw").schedule_kind == "cosine"


def test_balanced_sampler_draws_classes_evenly():
    labels = [0] * 90 + [1] * 10
    shards = [list(BalancedDistributedSampler(labels, labels, 2, rank, seed=0)) for rank in range(2)]
    drawn = [labels[i] for shard in shards for i in shard]
    assert len(drawn) == 100 and 35 < sum(drawn) < 65
    assert shards[0] == list(BalancedDistributedSampler(labels, labels, 2, 0, seed=0))


def test_loss_decreases_and_metrics_are_written(straight):
    history = straight.history
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert all(0 <= row["val_auc"] <= 1 for row in history)
    rows = straight.metrics_csv.read_text().splitlines()
    assert rows[0].startswith("epoch,lr,train_loss") and len(rows) == 4
    assert json.loads(straight.metrics_json.read_text())["history"] == history
    assert straight.best_checkpoint == straight.last_checkpoint.with_name(BEST)
    model, config, saved_history = load_checkpoint(straight.last_checkpoint)
    assert config == TINY and saved_history == history and same_weights(model, straight.model)


def test_same_seed_same_run_and_resume_is_identical(data, straight, tmp_path):
    again = train(TINY, *data, tmp_path / "again", progress=False)
    assert losses(again.history) == losses(straight.history) and same_weights(again.model, straight.model)
    split = tmp_path / "split"
    first = train(TINY, *data, split, progress=False, stop_after=2)
    assert len(first.history) == 2
    resumed = train(TINY, *data, split, progress=False)
    assert resumed.resumed_from == 2
    assert losses(resumed.history) == losses(straight.history) and same_weights(resumed.model, straight.model)


def test_sigint_saves_mid_epoch_and_resume_is_identical(data, straight, tmp_path):
    def interrupt(info):
        if (info.epoch, info.step) == (1, 1):
            os.kill(os.getpid(), signal.SIGINT)

    handler_before = signal.getsignal(signal.SIGINT)  # not always Python's default: a background job ignores SIGINT
    with pytest.raises(TrainingInterrupted, match="interrupted at epoch 2, step 2") as stopped:
        train(TINY, *data, tmp_path, progress=False, on_step=interrupt)
    assert len(stopped.value.result.history) == 1
    saved = torch.load(tmp_path / LAST, weights_only=True)
    assert (saved["epoch"], saved["step"]) == (1, 2)
    assert signal.getsignal(signal.SIGINT) is handler_before  # the handler is put back
    resumed = train(TINY, *data, tmp_path, progress=False)
    assert losses(resumed.history) == losses(straight.history) and same_weights(resumed.model, straight.model)


def test_other_configuration_is_refused(data, tmp_path):
    train(dataclasses.replace(TINY, epochs=1), *data, tmp_path, progress=False)
    changed = dataclasses.replace(TINY, epochs=1, lr=0.02, num_workers=1)  # num_workers may change
    with pytest.raises(TrainingError, match=r"another configuration \(lr 0.01 -> 0.02\)"):
        train(changed, *data, tmp_path, progress=False)
    assert len(train(changed, *data, tmp_path, resume=False, progress=False).history) == 1


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
    def poison(info):
        if (info.epoch, info.step) == (1, 0):
            with torch.no_grad():
                info.model.model.conv1.conv.weight.fill_(float("nan"))

    with pytest.raises(TrainingError, match="loss became nan at epoch 2, step 2"):
        train(TINY, *data, tmp_path, progress=False, on_step=poison)
    saved = torch.load(tmp_path / LAST, weights_only=True)
    assert saved["epoch"] == 1 and all(torch.isfinite(v).all() for v in saved["model"].values())


def test_failed_write_leaves_the_previous_checkpoint(data, tmp_path, monkeypatch):
    train(TINY, *data, tmp_path, progress=False, stop_after=1)
    before = (tmp_path / LAST).read_bytes()

    def broken_save(obj, stream):
        stream.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train(TINY, *data, tmp_path, progress=False, stop_after=2)
    assert (tmp_path / LAST).read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unwritable_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(TrainingError, match="cannot write checkpoints to .*a-file/run"):
        train(TINY, [], [], blocker / "run", progress=False)  # no data: the folder is checked first


def test_save_for_inference_loads_with_weights_module(straight, tmp_path):
    path = save_for_inference(straight.model, TINY, tmp_path / "model.pt")
    loaded = load_minifasnet(path)
    found = (loaded.family, loaded.has_fourier, loaded.input_size, loaded.num_classes)
    assert found == ("fasutils", False, (80, 80), 2)
    x = torch.rand(2, 3, 80, 80)
    assert torch.equal(loaded.model(x), straight.model.eval()(x))
    assert json.loads(path.with_suffix(".json").read_text())["config"] == TINY.to_dict()
    assert load_minifasnet(save_for_inference(straight.model, TINY, tmp_path / "ft.pt", with_fourier=True)).has_fourier


def test_load_for_inference_returns_the_classifier_and_its_convention(straight, tmp_path):
    path = save_for_inference(straight.model, TINY, tmp_path / "model.pt")
    classifier, convention = load_for_inference(path)
    x = torch.rand(2, 3, 80, 80)
    assert torch.equal(classifier(x), straight.model.eval().model(x))
    assert (convention.color_order, convention.scale, convention.classes, convention.live_index) == (
        "rgb", 1 / 255, ("live", "spoof"), 0)
    assert convention.crop == TINY.crop_convention() and convention.input_size == (80, 80)


def test_load_for_inference_names_a_missing_or_contradicting_configuration(straight, tmp_path):
    path = save_for_inference(straight.model, TINY, tmp_path / "model.pt")
    about = json.loads(path.with_suffix(".json").read_text())
    about["config"]["variant"] = "V1" if TINY.variant != "V1" else "V2"
    path.with_suffix(".json").write_text(json.dumps(about))
    with pytest.raises(ModelError, match="model.pt"):
        load_for_inference(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(TrainingError, match="model.json: cannot read the model's configuration"):
        load_for_inference(path)


def test_torchrun_two_processes_end_with_identical_weights(data, tmp_path):
    records = [dataclasses.replace(r, path=tmp_path / "images" / Path(r.path).name) for r in data[0] + data[1]]
    (tmp_path / "images").mkdir()
    for original, copy in zip(data[0] + data[1], records, strict=True):
        copy.path.write_bytes(Path(original.path).read_bytes())
    manifest = write_manifest(records, tmp_path / "manifest.csv")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(PROJECT / "scripts" / "train_ddp_check.py"), str(manifest), str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    hashes = [(tmp_path / f"weights-rank{rank}.sha256").read_text() for rank in range(2)]
    assert hashes[0] == hashes[1]
    saved = torch.load(tmp_path / "run" / LAST, weights_only=True)
    assert saved["epoch"] == 1 and len(saved["rng"]) == 2
    assert saved["history"][0]["epoch"] == 1


def test_predict_spoof_scores_every_record_with_its_label(data, straight):
    from fasutils.training.loop import predict_spoof

    records = data[1]
    scores, labels = predict_spoof(straight.model, records, TINY, batch_size=4)
    assert scores.shape == labels.shape == (len(records),)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert labels.tolist() == [int(r.is_spoof) for r in records]
