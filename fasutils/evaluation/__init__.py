"""ISO/IEC 30107-3 evaluation: metrics (computed here, no plotting), their figures (drawn there), scoring records
and videos, score files, the runner behind ``python -m fasutils evaluate`` and the report from score files alone
(``report``), per-protocol tables, the hand-over report, model comparisons, the realism check of simulated
attacks, the context-only probe, the real-data yardstick, choosing the shipped model on it and its card. Taught in
``07_evaluation_report.ipynb`` (realism and the probe in ``00``, comparisons in ``04``, choosing and the card in
``03``).
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "rates": "percent",
    "metrics": "ScoreSet choose_threshold evaluate_scores",
    "figures": "draw_det report_figures score_agreement",
    "runner": "EvaluationSettings run_evaluation",
    "scoring": "score_records",
    "scores": "at_level read_scores write_scores",
    "from_scores": "ReportSettings headline report_scores run_report",
    "protocols": "protocol_results",
    "report": "read_report write_report",
    "comparison": "accuracy_table",
    "realism": "judge_records realism_table",
    "shortcuts": "context_probe masked_crop",
    "yardstick": "bpcer_table find_faces sample_verdicts score_yardstick",
    "selection": "SplitImages candidate_table choose real_samples_right yardstick_half",
    "model_card": "ModelCard card_for render_card",
})
