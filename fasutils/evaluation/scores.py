"""Score files: one row per sample and model, as evaluators know them from bob.pad, written, read and checked here.

``python -m fasutils evaluate`` writes every score it computed to ``scores.csv`` beside its report and computes
the report from that file; ``python -m fasutils report --scores`` makes the same report from such a file alone,
so thresholds and metrics can be recomputed, or another tool's scores reported, without the models. Columns
(:data:`SCORE_COLUMNS`):

- required: ``path`` (the image or video), ``label`` (``live`` or ``spoof``; ``bonafide``/``real`` and
  ``attack``/``fake`` are read as those) and ``score`` (P(live), or any score where higher means more live);
- ``model``, required when the file holds several models' scores (else the file's name stands in);
- ``attack_type`` (a word of :data:`~fasutils.data.records.ATTACK_TYPES`; default live, or ``other`` for a spoof),
  ``frame`` (the frame index when the row is one frame of a video), ``subject``, ``split``, ``dataset``,
  ``attack_detail``, ``detector`` (which found the face box; ``data`` when the dataset gave it) and the face box
  ``box_x, box_y, box_w, box_h`` in pixels;
- ``non_response``: why a sample gave no score (``no face found``, ``image truncated``, ...); its score is empty.
  Such rows count in the non-response rates (APNRR, BPNRR), never silently dropped.

Other columns are ignored. :func:`at_level` turns a video's frame rows into one row per video (the mean, min or max
of its scored frames, as ``bob pad finalize-scores --method`` does). A file with missing columns, an unknown label
or attack type, a missing score without a reason, a non-number, or a repeated row (the same model, path and frame
twice, e.g. two models' scores without a model column) stops with one :class:`EvaluationError` naming the lines.
Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fasutils.core.errors import EvaluationError
from fasutils.core.files import atomic_write_text
from fasutils.data.records import ATTACK_TYPES, BOX_COLUMNS
from fasutils.evaluation.rates import AGGREGATIONS, LEVELS, LIVE

SCORE_COLUMNS = ("dataset", "path", "frame", "subject", "split", "label", "attack_type", "attack_detail", "model",
                 "score", "non_response", "detector", *BOX_COLUMNS)
REQUIRED_SCORE_COLUMNS = ("path", "label", "score")
TEXT_COLUMNS = ("dataset", "path", "subject", "split", "label", "attack_type", "attack_detail", "model",
                "non_response", "detector")
LABELS = {"live": "live", "bonafide": "live", "bona fide": "live", "real": "live",
          "spoof": "spoof", "attack": "spoof", "fake": "spoof"}
DATA_BOX = "data"  # the detector column of a row whose face box came with the dataset


def _lines(mask: pd.Series) -> str:
    """The file's line numbers (header = line 1) of the rows in ``mask``, the first five."""
    rows = np.flatnonzero(mask.to_numpy())
    shown = ", ".join(str(row + 2) for row in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    return f"{len(rows)} row{'s' if len(rows) > 1 else ''} (line{'s' if len(rows) > 1 else ''} {shown})"


def _numbers(text: pd.Series, where: str, column: str) -> pd.Series:
    """``text`` as floats; empty or "nan" is NaN; anything else that is not a number stops naming the lines."""
    values = pd.to_numeric(text, errors="coerce").astype(np.float64)
    bad = values.isna() & ~text.str.lower().isin({"", "nan"})
    if bad.any():
        raise EvaluationError(f"{where}: {column} is not a number in {_lines(bad)}, e.g. {text[bad].iloc[0]!r}")
    if np.isinf(values).any():
        raise EvaluationError(f"{where}: {column} is infinite in {_lines(np.isinf(values))}")
    return values


def check_scores(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """A score table with every column of :data:`SCORE_COLUMNS`, labels normalised and each row checked;
    :class:`EvaluationError` naming ``where`` and the lines for anything that cannot be read as scores."""
    raw = raw.rename(columns=lambda name: str(name).strip())
    missing = [column for column in REQUIRED_SCORE_COLUMNS if column not in raw.columns]
    if missing:
        raise EvaluationError(f"{where} lacks the column(s) {', '.join(missing)} (required: "
                              f"{', '.join(REQUIRED_SCORE_COLUMNS)}; its header: {', '.join(raw.columns) or 'none'})")
    if raw.empty:
        raise EvaluationError(f"{where} holds no score rows")
    text = {column: raw[column].fillna("").astype(str).str.strip() if column in raw.columns
            else pd.Series("", index=raw.index, dtype=object) for column in (*TEXT_COLUMNS, "score", "frame",
                                                                             *BOX_COLUMNS)}
    table = pd.DataFrame({column: text[column].astype(object) for column in TEXT_COLUMNS})
    table["label"] = text["label"].str.lower().map(LABELS)
    bad = table["label"].isna()
    if bad.any():
        raise EvaluationError(f"{where}: unknown label(s) {', '.join(map(repr, text['label'][bad].unique()[:5]))} "
                              f"in {_lines(bad)}; write live or spoof ({', '.join(LABELS)} are read)")
    live = table["label"] == LIVE
    table["attack_type"] = table["attack_type"].where(table["attack_type"] != "", np.where(live, LIVE, "other"))
    bad = ~table["attack_type"].isin(ATTACK_TYPES)
    if bad.any():
        names = ", ".join(map(repr, table["attack_type"][bad].unique()[:5]))
        raise EvaluationError(f"{where}: unknown attack type(s) {names} in {_lines(bad)}; the vocabulary is "
                              f"{', '.join(ATTACK_TYPES)}")
    bad = (table["attack_type"] == LIVE) != live
    if bad.any():
        raise EvaluationError(f"{where}: label and attack_type disagree in {_lines(bad)} (live goes with attack_type "
                              "live, spoof with any other)")
    if (table["path"] == "").any():
        raise EvaluationError(f"{where}: path is empty in {_lines(table['path'] == '')}")
    table["score"] = _numbers(text["score"], where, "score")
    unexplained = table["score"].isna() & (table["non_response"] == "")
    if unexplained.any():
        raise EvaluationError(f"{where}: the score is missing (empty or NaN) in {_lines(unexplained)} without a "
                              "reason; give every sample a score, or its reason in a non_response column")
    both = table["score"].notna() & (table["non_response"] != "")
    if both.any():
        raise EvaluationError(f"{where}: {_lines(both)} hold a score and a non_response reason; keep one")
    frame = _numbers(text["frame"], where, "frame")
    bad = frame.notna() & ((frame < 0) | (frame % 1 != 0))
    if bad.any():
        raise EvaluationError(f"{where}: frame is not a frame index (0 or more) in {_lines(bad)}")
    table["frame"] = frame.astype("Int64")
    for column in BOX_COLUMNS:
        table[column] = _numbers(text[column], where, column)
    if "model" not in raw.columns:
        table["model"] = Path(where).stem
    elif (table["model"] == "").any():
        raise EvaluationError(f"{where}: model is empty in {_lines(table['model'] == '')}")
    repeated = table.duplicated(["model", "path", "frame"], keep=False)
    if repeated.any():
        hint = ("; several models' scores need a model column" if "model" not in raw.columns
                else "; each model scores each sample (or frame) once")
        raise EvaluationError(f"{where}: the same model, path and frame repeat in {_lines(repeated)}{hint}")
    return table[list(SCORE_COLUMNS)].reset_index(drop=True)


def read_scores(path: str | Path) -> pd.DataFrame:
    """A score file (CSV, :data:`SCORE_COLUMNS`), checked by :func:`check_scores`."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise EvaluationError(f"score file not found: {path}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise EvaluationError(f"cannot read the score file {path}: {str(error).strip().splitlines()[-1]}") from None
    return check_scores(raw, str(path))


def write_scores(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a score table (:data:`SCORE_COLUMNS` first, any others after) as CSV, atomically; floats exact."""
    columns = [*SCORE_COLUMNS, *(column for column in table.columns if column not in SCORE_COLUMNS)]
    return atomic_write_text(path, table[columns].to_csv(index=False, lineterminator="\n"))


def _first_reason(reasons: pd.Series) -> str:
    counts = Counter(reason for reason in reasons if reason)
    return counts.most_common(1)[0][0] if counts else ""


def at_level(table: pd.DataFrame, level: str = "auto", aggregation: str = "mean") -> tuple[pd.DataFrame, str]:
    """The rows to evaluate and the level's name: "video" (each video's frame rows become one row scored by the
    ``aggregation`` of its scored frames, a non-response when none was scored, with ``frames`` and
    ``scored_frames`` counts), "frame" (the rows as they are) or "image" (no frame numbers at all).

    ``level`` "auto" is "video" when any row is a video frame; images (rows without a frame) stay as they are.
    """
    if level not in LEVELS or aggregation not in AGGREGATIONS:
        raise EvaluationError(f"level must be one of {', '.join(LEVELS)} and aggregation one of "
                              f"{', '.join(AGGREGATIONS)}, not {level!r} and {aggregation!r}")
    framed = table["frame"].notna()
    if not framed.any():
        if level == "video":
            raise EvaluationError("per-video scores need frame numbers, and these scores have none; use level "
                                  "auto or frame")
        return table, "image"
    if level == "frame":
        return table, "frame"
    frames = table[framed].assign(order=np.flatnonzero(framed.to_numpy()))
    groups = frames.groupby(["model", "path"], sort=False)
    carried = [column for column in SCORE_COLUMNS if column not in {"model", "path", "frame", "score", "non_response",
                                                                    *BOX_COLUMNS}]
    videos = groups.agg(**{column: (column, "first") for column in carried}, order=("order", "first"),
                        score=("score", aggregation), frames=("frame", "size"), scored_frames=("score", "count"))
    videos["non_response"] = np.where(videos["score"].isna(), groups["non_response"].agg(_first_reason), "")
    videos = videos.reset_index().assign(frame=pd.array([pd.NA] * len(videos), dtype="Int64"),
                                         **{column: np.nan for column in BOX_COLUMNS})
    images = table[~framed].assign(order=np.flatnonzero(~framed.to_numpy()))
    rows = pd.concat([images, videos]).sort_values("order", kind="stable").drop(columns="order")
    return rows[[*SCORE_COLUMNS, *(c for c in rows.columns if c not in SCORE_COLUMNS)]].reset_index(drop=True), "video"


def split_responses(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """The scored rows, and the non-responses (rows without a score) per attack type and per reason."""
    missing = rows[rows["score"].isna()]
    return (rows[rows["score"].notna()],
            {str(kind): int(n) for kind, n in missing["attack_type"].value_counts(sort=False).items()},
            {str(reason): int(n) for reason, n in missing["non_response"].value_counts().items()})
