"""The page layout the PDF reports share (fpdf2, LGPL-3.0, pure Python): the disclaimer
on every page, headings, key-value rows, paragraphs and a row of images.

fpdf2's built-in fonts cover Latin-1 only, so text goes through :func:`latin1` (common
typographic characters replaced, anything else turned into ``?``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

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


class ReportPage(FPDF):
    """A page with the research-only disclaimer on top and the page number below."""

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


def heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 10)


def pairs(pdf: FPDF, rows: Sequence[tuple[str, str]], key_width: float = 55) -> None:
    pdf.set_font("helvetica", "", 10)
    for key, value in rows:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(key_width, 5.5, latin1(key))
        pdf.set_font("helvetica", "", 10)
        pdf.multi_cell(0, 5.5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def paragraph(pdf: FPDF, text: str, size: int = 10) -> None:
    pdf.set_font("helvetica", "", size)
    pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def images(pdf: FPDF, images: Sequence[tuple[str, np.ndarray]]) -> None:
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


def new_document(title: str, created: datetime, page: type[ReportPage] = ReportPage) -> ReportPage:
    """An A4 document on its first page: the title and when it was made."""
    pdf = page(format="A4")
    pdf.set_title(title)
    pdf.set_creator("MedZoo")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 9, latin1(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 9)
    stamp = f"Created {created:%Y-%m-%d %H:%M} UTC"
    pdf.cell(0, 5, stamp, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf


def flag(pdf: FPDF, text: str) -> None:
    """A warning in red, bold (an out-of-distribution flag)."""
    pdf.set_font("helvetica", "B", 11)
    pdf.set_text_color(150, 0, 0)
    pdf.multi_cell(0, 5.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def closing(pdf: FPDF) -> bytes:
    """The disclaimer once more, at the end, and the document as bytes."""
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 10)
    pdf.set_text_color(150, 0, 0)
    pdf.multi_cell(0, 5, latin1(DISCLAIMER), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()
