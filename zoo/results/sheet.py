"""The command line's PDF for one analyzed image: the result sheet.

The dashboard's Analyze report (``ui.pdf``) adds what only a session has (the operating
point the user chose, validation figures at it, advice); this sheet states the result as
the DICOM objects do, from the same :class:`~zoo.results.summary.ResultSummary`, with the
model's licence, on the same page layout (the card's figures and limitations, whose prose
the dashboard fills in from its figures, are pointed to, not copied).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from zoo.card import ModelCard
from zoo.results.pdf_layout import closing, flag, heading, images, new_document, pairs
from zoo.results.summary import ResultSummary


def result_sheet(
    summary: ResultSummary,
    card: ModelCard,
    original: np.ndarray,
    heatmap: np.ndarray | None,
    method: str,
) -> bytes:
    """The sheet as PDF bytes (nothing written to disk); ``original`` and ``heatmap`` are
    uint8 RGB, ``method`` names how the heatmap was made."""
    pdf = new_document("MedZoo result", datetime.now(UTC))
    if summary.ood_flagged:
        flag(pdf, "FLAGGED: the image looks unlike the model's training images.")
    heading(pdf, "Result")
    pairs(
        pdf,
        [
            ("Model", f"{summary.model_name} ({summary.model_id} v{summary.model_version})"),
            ("Model file SHA-256", summary.model_sha256),
            ("Label of interest", summary.label),
            ("Call", summary.call),
            (
                "Probabilities",
                ", ".join(f"{k}: {v:.3f}" for k, v in summary.probabilities.items()),
            ),
            (
                "Out of distribution",
                "n/a" if summary.ood_flagged is None else ("yes" if summary.ood_flagged else "no"),
            ),
        ],
    )
    heading(pdf, "Images")
    shown = [("Image", original)]
    if heatmap is not None:
        shown.append((f"{method}: {summary.label}", heatmap))
    images(pdf, shown)
    heading(pdf, "Model")
    pairs(
        pdf,
        [
            ("Card", f"{card.name}: {card.task}, {', '.join(card.labels)}"),
            ("Licence", str(card.training_data.get("licence", "n/a"))),
            ("Figures and limitations", "on the model card (the dashboard's Model zoo page)"),
        ],
    )
    return closing(pdf)
