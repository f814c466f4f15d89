"""ISO/IEC 30107-3 evaluation: metrics (computed here, no plotting), their figures (drawn there), scoring records
and videos, score files, the runner behind ``python -m fasutils evaluate`` and the report from score files alone
(``report``), per-protocol tables, the hand-over report, model comparisons, and the realism check of simulated
attacks. Taught in ``07_evaluation_report.ipynb`` (realism in ``00``, comparisons in ``04``).
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
})
