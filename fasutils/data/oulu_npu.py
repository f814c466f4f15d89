"""The OULU-NPU reader: its published layout and protocols 1-4 as video :class:`Record` s.

OULU-NPU (Boulkenafet et al., "OULU-NPU: A mobile face presentation attack database with real-world variations",
FG 2017): 4,950 videos of 55 users filmed with 6 phones in 3 sessions, laid out as

- ``{Train,Dev,Test}_files/<Phone>_<Session>_<User>_<File>.avi``, e.g. ``1_1_01_1.avi``, each with a ``.txt`` of
  per-frame eye positions beside it (not read here: the suite's classifiers want their detector's face box);
- File 1 is real (live); 2 and 3 are print attacks (two printers), 4 and 5 replay attacks (two displays);
- ``Protocols/Protocol_1/{Train,Dev,Test}.txt`` and ``Protocol_2``; ``Protocol_3`` and ``Protocol_4`` hold six
  sub-protocols each, ``{Train,Dev,Test}_{1..6}.txt``. A line reads ``+1,1_1_01_1`` (real) or ``-1,1_1_01_2``
  (attack).

Protocols: 1 unseen session (illumination, background), 2 unseen attack instruments, 3 leave one phone out,
4 all three unseen. :func:`read_oulu_npu` reads one protocol (``"1"``, ``"2"``, ``"3_1"`` ... ``"4_6"``) or
``"all"`` (every video any protocol lists, each once: a user's videos are in the same split in every protocol),
which lets an evaluation score each video once and then report every protocol (:func:`protocol_lists`).
Lines naming a missing video, a label that contradicts the file number, or a malformed name are skipped with the
reason. Introduced in ``07_evaluation_report.ipynb`` (``python -m fasutils evaluate --format oulu-npu``).
"""

from __future__ import annotations

import re
from pathlib import Path

from fasutils.core.errors import DataError
from fasutils.data.readers import Collector, require_dir
from fasutils.data.records import ReadReport

PROTOCOLS = ("1", "2", *(f"{n}_{k}" for n in (3, 4) for k in range(1, 7)))
ALL = "all"
SPLITS = {"Train": "train", "Dev": "dev", "Test": "test"}  # protocol file prefix -> split
FILES = {"1": ("live", "real"), "2": ("print", "print 1"), "3": ("print", "print 2"),
         "4": ("replay", "replay 1"), "5": ("replay", "replay 2")}  # file number -> attack type, OULU-NPU's name
NAME = re.compile(r"[1-6]_[1-3]_(\d{2})_([1-5])")  # Phone_Session_User_File


def protocol_files(root: str | Path, protocol: str) -> dict[str, Path]:
    """The split -> list file of ``protocol`` ("1", "2", "3_1" ... "4_6") under ``root/Protocols``."""
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown OULU-NPU protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)} or {ALL}")
    number, _, sub = protocol.partition("_")
    folder = Path(root) / "Protocols" / f"Protocol_{number}"
    return {split: folder / f"{prefix}{'_' + sub if sub else ''}.txt" for prefix, split in SPLITS.items()}


def _lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, label, video name) of a protocol file's non-empty lines; malformed ones keep their text."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"cannot read the OULU-NPU protocol file {path}: {error.strerror or error}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            label, _, name = (part.strip() for part in line.partition(","))
            rows.append((number, label, name))
    return rows


def protocol_lists(root: str | Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per protocol whose three list files exist: split -> the video names listed (e.g. ``"1_1_01_1"``)."""
    lists = {}
    for protocol in PROTOCOLS:
        files = protocol_files(root, protocol)
        if all(path.is_file() for path in files.values()):
            lists[protocol] = {split: tuple(name for _, _, name in _lines(path)) for split, path in files.items()}
    return lists


def _checked(collector: Collector, where: str, label: str, name: str) -> tuple[str, str] | None:
    """(user, file number) of a well-formed line whose label agrees with its file number; else None, skipped."""
    match = NAME.fullmatch(name)
    if label not in {"+1", "-1"} or match is None:
        collector.skip(where, "bad protocol line", f"expected '+1,<Phone>_<Session>_<User>_<File>' or '-1,...', "
                       f"found {label},{name}"[:160])
        return None
    user, file = match.groups()
    if (label == "+1") != (file == "1"):
        collector.skip(where, "bad label", f"label {label} contradicts file number {file} of {name} (1 = real, "
                       "2-5 = attacks)")
        return None
    return user, file


def _entry(collector: Collector, root: Path, split: str, where: str, name: str, user: str, file: str,
           check_videos: bool) -> None:
    attack_type, detail = FILES[file]
    folder = next(prefix for prefix, value in SPLITS.items() if value == split)
    path = root / f"{folder}_files" / f"{name}.avi"
    if not path.is_file():
        collector.skip(where, "missing video", f"{where} names {name}, but {path} does not exist")
        return
    if check_videos and not collector.readable(path):
        return
    collector.add(where, path=path, is_spoof=attack_type != "live", attack_type=attack_type, subject=user,
                  split=split, source=collector.report.source, attack_detail=detail)


def read_oulu_npu(root: str | Path, protocol: str = ALL, *, strict: bool = False,
                  check_videos: bool = True) -> ReadReport:
    """Read OULU-NPU's videos of ``protocol`` ("1", "2", "3_1" ... "4_6", or "all") from ``root`` (the folder
    holding ``Train_files``, ``Dev_files``, ``Test_files`` and ``Protocols``): one record per video, split
    train/dev/test by the protocol's list file, subject = user. ``check_videos`` decodes each first frame."""
    root = require_dir(Path(root), "OULU-NPU folder")
    protocols = PROTOCOLS if protocol == ALL else (protocol,)
    files = [(split, path) for name in protocols for split, path in protocol_files(root, name).items()]
    present = [(split, path) for split, path in files if path.is_file()]
    if not present:
        raise DataError(f"no OULU-NPU protocol files under {root / 'Protocols'} (expected e.g. "
                        f"{files[0][1].relative_to(root)})")
    collector = Collector(f"OULU-NPU protocol {protocol}" if protocol != ALL else "OULU-NPU", root, strict)
    for split, path in files:
        if (split, path) not in present:
            collector.skip(path, "missing protocol file", f"protocol list file not found: {path}")
    seen: dict[str, str] = {}
    for split, path in present:
        for number, label, name in _lines(path):
            where = f"{path.relative_to(root)} line {number}"
            checked = _checked(collector, where, label, name)
            if checked is None:
                continue
            if name in seen:
                if seen[name] != split:
                    collector.skip(where, "conflicting split", f"{name} is listed for {split} here and for "
                                   f"{seen[name]} in another protocol file; it is read once, as {seen[name]}")
                continue
            seen[name] = split
            _entry(collector, root, split, where, name, *checked, check_videos)
    return collector.report
