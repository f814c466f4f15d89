"""The dataset formats the suite reads, by name: each with the reader that reads it and how a report names that reader.

``python -m fasutils evaluate --format`` offers :data:`FORMATS` (the CLI reads them from here, without torch) and
:mod:`fasutils.evaluation.runner` reads the data with :data:`READERS`. A format with protocols (OULU-NPU) names
them in :data:`PROTOCOLS` (its reader takes ``protocol=``) and lists each protocol's videos with
:data:`PROTOCOL_LISTS`. Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from fasutils.data import oulu_npu
from fasutils.data.celeba_spoof import read_celeba_spoof
from fasutils.data.readers import read_folder, read_manifest
from fasutils.data.records import ReadReport

# format -> (the reader as the provenance names it, the reader)
READERS: dict[str, tuple[str, Callable[..., ReadReport]]] = {
    "folder": ("fasutils.data.readers.read_folder", read_folder),
    "csv": ("fasutils.data.readers.read_manifest", read_manifest),
    "celeba-spoof": ("fasutils.data.celeba_spoof.read_celeba_spoof (intra-test protocol, test split)",
                     partial(read_celeba_spoof, splits=("test",))),
    "oulu-npu": ("fasutils.data.oulu_npu.read_oulu_npu", oulu_npu.read_oulu_npu),
}
FORMATS = tuple(READERS)
PROTOCOLS = {"oulu-npu": (*oulu_npu.PROTOCOLS, oulu_npu.ALL)}  # format -> its protocols; the last reads them all
# format -> the video names of each protocol's splits (protocol -> split -> names), for the per-protocol table
PROTOCOL_LISTS: dict[str, Callable[[Path], dict[str, dict[str, tuple[str, ...]]]]] = {
    "oulu-npu": oulu_npu.protocol_lists}
