"""The shipped model's card, written from the numbers of the run that made it (Mitchell et al., "Model Cards for
Model Reporting", FAT* 2019): what the model is, where its weights come from and what was changed (Apache-2.0
section 4 asks a derived work to say so), how it was chosen, its decision threshold, what it measured on the
synthetic test split and on real faces beside the published models, and its limits.

:func:`card_for` fills a :class:`ModelCard` from notebook 03's results and :func:`render_card` lays it out as
Markdown; notebook 03 writes it beside the model in ``build/models/``, and ``python -m fasutils ship`` puts both
into ``models/``. Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fasutils.training.config import TrainConfig


@dataclass(frozen=True)
class ModelCard:
    """Everything a card says; the tables are DataFrames, the rest short Markdown strings."""

    file: str  # the model's file name in models/
    title: str  # one line: what the model is
    about: dict[str, str]  # the fact table: architecture, input, source, data, recipe, chosen by, threshold ...
    measured: pd.DataFrame  # one row per model: synthetic and real-data numbers side by side
    notes: Sequence[str] = ()  # what the measured table says, one sentence each: where ours is better, where not
    per_source: pd.DataFrame | None = None  # BPCER on real live faces per source, with intervals
    reproducibility: Sequence[str] = ()
    limitations: Sequence[str] = ()
    extra: dict[str, str] = field(default_factory=dict)  # further sections: heading -> Markdown


def markdown_table(table: pd.DataFrame, index: bool = True) -> str:
    """A DataFrame as a GitHub Markdown table (values as pandas prints them; NaN as a dash)."""
    frame = table.reset_index() if index else table
    cells = frame.astype(object).where(frame.notna(), "–").astype(str)
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _bullets(lines: Sequence[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def render_card(card: ModelCard) -> str:
    """The card as Markdown (a level-2 heading per section)."""
    about = markdown_table(pd.DataFrame({"": list(card.about), " ": list(card.about.values())}), index=False)
    parts = [f"# `{card.file}`: {card.title}", about, "## Measured", markdown_table(card.measured)]
    if card.notes:
        parts.append(_bullets(card.notes))
    if card.per_source is not None:
        parts += ["### BPCER on real live faces, per source", markdown_table(card.per_source, index=False)]
    for heading, lines in (("Reproducibility", card.reproducibility), ("Limitations", card.limitations)):
        if lines:
            parts += [f"## {heading}", _bullets(lines)]
    for heading, text in card.extra.items():
        parts += [f"## {heading}", text]
    return "\n\n".join(parts) + "\n"


def _source_line(config: TrainConfig, chosen_epoch: str) -> str:
    """Where the weights come from and, for a fine-tune, every change made to them."""
    if not config.init_from:
        return "trained from scratch (no published weights)"
    from fasutils.core import assets
    from fasutils.models.published import PUBLISHED

    asset = assets.get(PUBLISHED[config.init_from].weights)
    frozen = f"; stages kept frozen: {', '.join(config.freeze)}" if config.freeze else ""
    blend = (f"; then blended back with the published weights, (1 - alpha) x published + alpha x fine-tuned "
             f"(WiSE-FT), chosen as {chosen_epoch}") if "alpha" in chosen_epoch else f" (chosen: {chosen_epoch})"
    return (f"fine-tuned from **{config.init_from}** ({asset.origin}, {asset.licence}). Changes (Apache-2.0 §4): its "
            "input convention folded into the first convolution (BGR 0-255 to RGB / 255: channels reversed, weights "
            "x 255, the same function); its outputs reordered live first; a Fourier branch added for training (not "
            f"shipped); its weights fine-tuned on the data below for {config.epochs} epochs with an L2-SP pull of "
            f"weight {config.anchor_weight:g} back to the published weights{frozen}{blend}")


def card_for(*, chosen: pd.Series, config: TrainConfig, candidates: int, domain_gap: pd.DataFrame,
             per_source: pd.DataFrame, probe_auc: float, data: dict, real_people: int, quick: bool,
             bpcer_target: float, file: str) -> ModelCard:
    """The card of the model notebook 03 chose: ``chosen`` is its row of the candidate table, ``domain_gap`` the
    table of section 6 (first row: ours), ``data`` the dataset's build record, ``probe_auc`` the context-only
    probe's test AUC."""
    size = config.input_size
    convention = config.input_convention()
    about = {
        "architecture": f"MiniFASNet{config.variant} (`fasutils.models.architecture`), {size}x{size} input, classes "
                        f"{', '.join(convention.classes)} (index 0 live; P(spoof) is the sum of the others); the "
                        "Fourier branch was used in training and is not shipped",
        "file": f"`{file}` (plain state dict, our layout) + `{file.rsplit('.', 1)[0]}.json` (training configuration, "
                "input convention, threshold, how it was chosen)",
        "input": f"a face box (YOLOv7-lite by default) cut by the `{config.crop}` rule ({convention.crop.scale:g} x "
                 f"the box), **RGB / 255**, (3, {size}, {size}) float32",
        "source": _source_line(config, str(chosen["candidate"])),
        "data": f"notebook 00's {'QUICK' if quick else 'full'} build: {data['faces']} real live faces "
                f"({', '.join(f'{k} {v}' for k, v in data['faces_by_source'].items())}), each photographed by one "
                f"camera model as live, print, replay and cut-photo attacks ({data['images']} images); "
                "identity-disjoint splits",
        "recipe": f"{config.optimizer.upper()} lr {config.lr:g} ({config.schedule_kind}), weight decay "
                  f"{config.weight_decay:g}, {config.epochs} epochs, batch {config.batch_size}, loss "
                  f"{config.cls_weight:g} x cross-entropy (spoof classes pooled) + {config.ft_weight:g} x Fourier MSE, "
                  f"{config.balance} class balance, seed {config.seed}",
        "chosen by": f"{candidates} candidates (the published source, each fine-tuning epoch, blends of the last "
                     "epoch with the source, the best from-scratch epoch), each at its threshold for "
                     f"BPCER {bpcer_target:.0%} on the select half of the real yardstick; the fewest simulated "
                     f"validation attacks passing (worst type) wins: **{chosen['candidate']}**",
        "threshold": f"P(live) >= **{chosen['threshold']:.4f}** is live (placed on {chosen['threshold_on']}); "
                     "`predict` and the browser demo decide at it by default (`evaluate --threshold` applies it; "
                     "`evaluate` otherwise chooses thresholds on the evaluator's development split)",
        "reproduce": "`make run` (notebook 03 writes `build/models/`), then `make ship` (copies this model and card "
                     "into `models/`)",
    }
    ours, *others = domain_gap.index
    notes = [f"Context-only probe (notebook 00; the face masked, a logistic regression on what is left): test ROC "
             f"AUC {probe_auc:.3f} (0.5 is chance)."]
    for other in others:
        better = [column for column, higher in (("synthetic test AUC", True), ("real BPCER (report half)", False))
                  if np.isfinite(domain_gap.loc[ours, column]) and np.isfinite(domain_gap.loc[other, column])
                  and (domain_gap.loc[ours, column] > domain_gap.loc[other, column]) == higher
                  and domain_gap.loc[ours, column] != domain_gap.loc[other, column]]
        worse = [column for column in ("synthetic test AUC", "real BPCER (report half)") if column not in better]
        verdict = [f"better on {' and '.join(better)}" if better else "", f"not better on {' and '.join(worse)}"
                   if worse else ""]
        notes.append(f"Against {other}: {'; '.join(part for part in verdict if part)}.")
    return ModelCard(
        file=file, title=f"the suite's liveness model ({'QUICK smoke run' if quick else 'full run'})", about=about,
        measured=domain_gap, notes=notes,
        per_source=per_source.drop(columns=["threshold"], errors="ignore").round(3),
        reproducibility=[
            "The dataset images are seeded per (seed, face, kind), the sample order and augmentations per (seed, "
            "epoch, index), and training runs with deterministic algorithms: a rerun on the same machine, thread "
            "count and package versions repeats the same epochs (a resumed run is tested to equal an uninterrupted "
            "one).",
            "Not the same across machines, thread counts or library versions: floating-point sums in the CPU "
            "kernels change order, and the live pool depends on the files of the packages it is gathered from.",
        ],
        limitations=[
            f"The real yardstick is small ({real_people} people with live faces, minivision's two real attack photos):"
            " its BPCER intervals are wide, and there is no real attack *rate* at all.",
            "Every training attack is simulated; a low synthetic APCER is a statement about the simulator.",
            "Not for production use. The photos it was trained on are not redistributable (NBA publicity photos, "
            "WIDER FACE CC BY-NC-ND): the weights are shipped for teaching and research only.",
        ])
