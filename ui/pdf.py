"""The downloadable single-scan report, built in memory with fpdf2 (LGPL-3.0, pure Python),
on the page layout of :mod:`zoo.results.pdf_layout` (shared with the command line's
result sheet)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from fpdf.enums import XPos, YPos

from ui.report import fmt_score
from zoo.card import ModelCard
from zoo.results.pdf_layout import DISCLAIMER as DISCLAIMER  # re-exported
from zoo.results.pdf_layout import ReportPage, closing, flag, new_document
from zoo.results.pdf_layout import heading as _heading
from zoo.results.pdf_layout import images as _images
from zoo.results.pdf_layout import pairs as _pairs
from zoo.results.pdf_layout import paragraph as _paragraph

#: The page class build_report uses (a test swaps in an uncompressed one).
_Report = ReportPage


@dataclass
class ReportContent:
    """Everything the PDF shows; built by the Analyze page from its results."""

    file_name: str
    scan_summary: Mapping[str, str]
    card: ModelCard
    label: str  # label of interest
    score: float
    threshold: float
    operating_point: str
    risk_level: str
    verdict: tuple[str, str]  # (heading, label): AnalysisView.verdict
    probabilities: Mapping[str, float]
    validation_sensitivity: float | None
    validation_specificity: float | None
    confidence: str | None
    recommendations: Sequence[str]
    rules: Sequence[str]
    original: np.ndarray  # uint8 RGB
    processed: np.ndarray  # uint8 grey or RGB
    heatmap: np.ndarray | None  # uint8 RGB
    latency_ms: float | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Which model produced the result (from the result, never from a widget).
    model_version: str = ""
    model_sha256: str = ""
    #: The out-of-distribution warning, when the scan was flagged: the report's first line.
    out_of_distribution: str | None = None
    #: From :mod:`ui.figures`: the same figures and prose every page shows.
    validation_auc: str = "n/a"
    test_auc: str = "n/a"
    limitations: Sequence[str] = ()
    training_source: str = "n/a"
    intended_use: str = ""
    #: A multi-label model's every label: (label, probability, its threshold, called).
    findings: Sequence[tuple[str, float, float, bool]] = ()


def _fmt(value: float | None, pattern: str = "{:.1%}") -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return pattern.format(value)


def build_report(content: ReportContent) -> bytes:
    """The PDF report as bytes (nothing is written to disk)."""
    card = content.card
    pdf = new_document("MedZoo scan report", content.created, _Report)
    if content.out_of_distribution:
        flag(pdf, f"FLAGGED: out of distribution. {content.out_of_distribution}")

    _heading(pdf, "Result")
    _pairs(
        pdf,
        [
            ("Model", f"{card.name} ({card.id} v{content.model_version})"),
            ("Model file SHA-256", content.model_sha256),
            ("Label of interest", content.label),
            ("Risk score (0-1)", fmt_score(content.score, content.threshold)),
            (
                "Threshold",
                f"{fmt_score(content.threshold, content.score)} ({content.operating_point})",
            ),
            ("Risk level", content.risk_level),
            content.verdict,
            (
                "At this threshold",
                f"validation sensitivity {_fmt(content.validation_sensitivity)}, "
                f"specificity {_fmt(content.validation_specificity)}",
            ),
            ("Confidence", content.confidence or "n/a (no validation predictions)"),
            (
                "Probabilities",
                ", ".join(f"{k}: {v:.3f}" for k, v in content.probabilities.items()),
            ),
        ]
        + ([("Latency", f"{content.latency_ms:.1f} ms")] if content.latency_ms else []),
    )
    if content.findings:
        _heading(pdf, "Every finding, each at its own threshold")
        _pairs(
            pdf,
            [
                (label, f"{p:.3f} {'>=' if called else '<'} {t:.3f}: {'called' if called else '-'}")
                for label, p, t, called in content.findings
            ],
        )

    _heading(pdf, "Images")
    images = [("Original", content.original), ("Model input (processed)", content.processed)]
    if content.heatmap is not None:
        images.append((f"Activation map: {content.label}", content.heatmap))
    _images(pdf, [(c, a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2)) for c, a in images])

    _heading(pdf, "Scan")
    _pairs(pdf, [("File", content.file_name), *content.scan_summary.items()])

    _heading(pdf, "Recommendations (research use)")
    for item in content.recommendations:
        _paragraph(pdf, f"- {item}")

    _heading(pdf, "How to read this report")
    for rule in content.rules:
        _paragraph(pdf, rule, size=9)

    _heading(pdf, "Model card summary")
    data = card.training_data
    _pairs(
        pdf,
        [
            (
                "Task",
                f"multilabel: {', '.join(row[0] for row in content.findings)}"
                if content.findings
                else f"{card.task}: {', '.join(card.labels)}",
            ),
            ("Modality / body part", f"{', '.join(card.modalities)} / {card.body_part}"),
            ("Architecture", str(card.architecture.get("name", "n/a"))),
            ("Training data", content.training_source),
            ("Licence", str(data.get("licence", "n/a"))),
            ("Held-out test AUC (95% CI)", content.test_auc),
            ("Validation AUC (95% CI)", content.validation_auc),
            ("Intended use", content.intended_use),
        ],
    )
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(0, 6, "Limitations", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for item in content.limitations:
        _paragraph(pdf, f"- {item}")

    return closing(pdf)
