"""The downloadable single-scan report, built in memory with fpdf2 (LGPL-3.0, pure Python).

fpdf2's built-in fonts cover Latin-1 only, so text goes through :func:`latin1` (common
typographic characters replaced, anything else turned into ``?``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from zoo.card import ModelCard

DISCLAIMER = (
    "Research and teaching only. MedZoo is not a medical device; this report is not a "
    "diagnosis and must not be used for patient care."
)

_REPLACEMENTS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u00b7": "*",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2248": "~",
    "\u2022": "-",
}


def latin1(text: object) -> str:
    value = str(text)
    for old, new in _REPLACEMENTS.items():
        value = value.replace(old, new)
    return value.replace("**", "").encode("latin-1", "replace").decode("latin-1")


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
    predicted_label: str
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


class _Report(FPDF):
    def header(self) -> None:
        self.set_font("helvetica", "B", 9)
        self.set_text_color(150, 0, 0)
        self.cell(0, 5, latin1(DISCLAIMER), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", "I", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"MedZoo report - page {self.page_no()}/{{nb}}", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 10)


def _pairs(pdf: FPDF, rows: Sequence[tuple[str, str]], key_width: float = 55) -> None:
    pdf.set_font("helvetica", "", 10)
    for key, value in rows:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(key_width, 5.5, latin1(key))
        pdf.set_font("helvetica", "", 10)
        pdf.multi_cell(0, 5.5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _paragraph(pdf: FPDF, text: str, size: int = 10) -> None:
    pdf.set_font("helvetica", "", size)
    pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _images(pdf: FPDF, images: Sequence[tuple[str, np.ndarray]]) -> None:
    if not images:
        return
    gap = 4.0
    width = (pdf.epw - gap * (len(images) - 1)) / len(images)
    height = 0.0
    for _, array in images:
        h, w = array.shape[:2]
        height = max(height, width * h / max(1, w))
    height = min(height, 80.0)
    if pdf.get_y() + height + 10 > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y()
    for i, (caption, array) in enumerate(images):
        image = Image.fromarray(np.ascontiguousarray(array))
        h, w = array.shape[:2]
        scale = min(width / max(1, w), height / max(1, h))
        x = pdf.l_margin + i * (width + gap) + (width - w * scale) / 2
        pdf.image(image, x=x, y=top, w=w * scale, h=h * scale)
        pdf.set_xy(pdf.l_margin + i * (width + gap), top + height + 1)
        pdf.set_font("helvetica", "I", 8)
        pdf.cell(width, 4, latin1(caption), align="C")
    pdf.set_xy(pdf.l_margin, top + height + 6)


def _fmt(value: float | None, pattern: str = "{:.1%}") -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return pattern.format(value)


def build_report(content: ReportContent) -> bytes:
    """The PDF report as bytes (nothing is written to disk)."""
    card = content.card
    pdf = _Report(format="A4")
    pdf.set_title("MedZoo scan report")
    pdf.set_creator("MedZoo")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 9, "MedZoo scan report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 9)
    pdf.cell(
        0,
        5,
        latin1(f"Created {content.created:%Y-%m-%d %H:%M} UTC"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    if content.out_of_distribution:
        pdf.set_font("helvetica", "B", 11)
        pdf.set_text_color(150, 0, 0)
        pdf.multi_cell(
            0,
            5.5,
            latin1(f"FLAGGED: out of distribution. {content.out_of_distribution}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(0, 0, 0)

    _heading(pdf, "Result")
    _pairs(
        pdf,
        [
            ("Model", f"{card.name} ({card.id} v{content.model_version})"),
            ("Model file SHA-256", content.model_sha256),
            ("Label of interest", content.label),
            ("Risk score (0-1)", f"{content.score:.3f}"),
            ("Threshold", f"{content.threshold:.3f} ({content.operating_point})"),
            ("Risk level", content.risk_level),
            ("Most probable label", content.predicted_label),
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

    pdf.ln(3)
    pdf.set_font("helvetica", "B", 10)
    pdf.set_text_color(150, 0, 0)
    pdf.multi_cell(0, 5, latin1(DISCLAIMER), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()
