"""Trust signals on the pages: out-of-distribution warnings, the test-time-augmentation
interval, sample boxes, calibration before/after, localization and subgroup tables.

Numbers come from the card (measured at export by ``python -m pipeline trust``) or from
:mod:`zoo.trust` on the labelled set in view; this module only lays them out.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts
from ui.figures import number
from ui.scans import sample_dirs
from ui.stats import ScoredSet
from zoo.card import ModelCard
from zoo.runtime import Prediction
from zoo.trust.localization import Box, parse_boxes
from zoo.trust.subgroups import metadata_columns, slice_metrics, slice_values

#: ``file,boxes`` beside the samples: radiologist boxes of the sample scans that have them.
BOXES_FILE = "boxes.csv"


def _with_ci(value: Any, low: Any, high: Any, pattern: str = "{:.3f}") -> str:
    if number(low) == "n/a" or number(high) == "n/a":
        return number(value, pattern)
    return f"{number(value, pattern)} ({number(low, pattern)}–{number(high, pattern)})"


# -- one prediction ----------------------------------------------------------------------


def ood_sentence(prediction: Prediction, card: ModelCard) -> str | None:
    """The warning for a scan unlike the model's training data, else None."""
    ood = prediction.ood
    if ood is None or not ood.flagged:
        return None
    return (
        f"**This scan looks unlike the images {card.name} was trained on.** Its distance from "
        f"the training data ({ood.score:.2f}) is above the model's threshold ({ood.threshold:.2f}, "
        f"set so that 5% of its validation images would be flagged); it is further out than "
        f"{ood.percentile:.0f}% of them. A different kind of scan, body part, view or a "
        "photograph gives outputs that mean nothing: check that this model fits the scan."
    )


def ood_caption(prediction: Prediction) -> str | None:
    ood = prediction.ood
    if ood is None:
        return None
    state = "above" if ood.flagged else "within"
    return (
        f"Out-of-distribution score {ood.score:.2f} ({state} the threshold {ood.threshold:.2f}; "
        f"further out than {ood.percentile:.0f}% of validation images)."
    )


def tta_sentence(prediction: Prediction, label: str, card: ModelCard) -> str | None:
    spread = prediction.uncertainty
    if spread is None:
        return None
    kinds = {view.kind for view in card.tta_views}
    what = ", ".join(
        name
        for kind, name in (
            ("shift", "small shifts"),
            ("contrast", "contrast changes"),
            ("hflip", "a mirror image"),
        )
        if kind in kinds
    )
    text = (
        f"Over {len(card.tta_views)} test-time views ({what}) P('{label}') ranged "
        f"**{spread.low[label]:.2f}–{spread.high[label]:.2f}** (mean {spread.mean[label]:.2f}). "
        "A wide range means the answer hangs on details that should not matter; it is not a "
        "confidence interval."
    )
    if card.calibrator.method == "isotonic":
        text += (
            " (This model's isotonic calibration is a step function: small changes of the raw "
            "score within one step do not show here.)"
        )
    return text


def heatmap_caveat(card: ModelCard) -> str | None:
    """A caption when the card's heatmap check fell short of Grad-CAM (e.g. int8 models)."""
    check = card.raw.get("heatmap_check")
    if not check or check.get("met"):
        return None
    share = check.get("share_at_least_0.99")
    text = (
        f"Caveat: on {check['images']} {check.get('side', 'validation')} images this model's "
        f"maps agree with TensorFlow Grad-CAM at median r = {check['median']:.3f}"
        + (f" ({share:.0%} of them at r ≥ 0.99" if isinstance(share, int | float) else " (")
        + f", the lowest {check['min']:.2f}; target 0.99 on every image)"
    )
    if card.raw.get("export", {}).get("shipped_variant") == "int8":  # static: int8 arithmetic
        text += (
            ": its int8 arithmetic shifts the 3×3 map on some scans; the float32 export "
            "matched Grad-CAM exactly but is too large to ship"
        )
    return text + "."


@st.cache_data(max_entries=4, show_spinner=False)
def _sample_boxes(folders: tuple[str, ...]) -> dict[str, list[Box]]:
    """SHA-256 of each sample file with boxes → its boxes."""
    found: dict[str, list[Box]] = {}
    for folder in map(Path, folders):
        table = folder / BOXES_FILE
        if not table.is_file():
            continue
        with table.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                path = folder / (row.get("file") or "")
                if not path.is_file() or path.parent != folder:
                    continue
                try:
                    boxes = parse_boxes(row.get("boxes"))
                except ValueError:
                    continue
                if boxes:
                    found[hashlib.sha256(path.read_bytes()).hexdigest()] = boxes
    return found


def sample_boxes(digest: str) -> list[Box]:
    """Radiologist boxes of an upload that is one of the shipped samples (matched by SHA-256)."""
    return _sample_boxes(tuple(str(p) for p in sample_dirs())).get(digest, [])


# -- calibration ---------------------------------------------------------------------------


def _curve(summary: Mapping[str, Any]) -> dict[str, Any]:
    rel = summary.get("reliability", {})
    return {
        "reliability": (
            np.asarray(rel.get("mean_predicted", []), dtype=float),
            np.asarray(rel.get("observed_frequency", []), dtype=float),
            np.asarray(rel.get("count", []), dtype=float),
        ),
        "ece": float(summary.get("ece", math.nan)),
    }


def render_calibration_effect(card: ModelCard, key: str) -> None:
    """Reliability and ECE before and after the card's calibration, on validation and test."""
    section = card.calibration or {}
    effect = section.get("effect")
    if not effect:
        st.info(
            "This card carries no calibration measurement: its probabilities are served as the "
            "model outputs them (run `python -m pipeline trust` to fit one)."
        )
        return
    method = section.get("method", "none")
    params = ", ".join(
        f"{k} = {v}" for k, v in (section.get("params") or {}).items() if not isinstance(v, list)
    )
    st.markdown(
        f"**Calibration: {method}**"
        + (f" ({params})" if params else "")
        + f", fitted on {section.get('n', '?')} validation images, chosen by "
        f"{section.get('chosen_by', 'n/a')}. Served probabilities are the calibrated ones."
    )
    columns = st.columns(len(effect))
    for column, (side, summary) in zip(columns, effect.items(), strict=True):
        what = "top-label" if summary.get("task") == "multiclass" else "P(positive)"
        column.plotly_chart(
            charts.calibration_figure(
                [("raw", _curve(summary["before"])), ("calibrated", _curve(summary["after"]))],
                title=f"{side.title()} side ({what}, {summary.get('n', '?')} images)",
            ),
            key=f"{key}_cal_{side}",
        )
    rows = [
        {
            "side": side,
            "ECE raw": number(summary["before"].get("ece")),
            "ECE calibrated": number(summary["after"].get("ece")),
            "Brier raw": number(summary["before"].get("brier")),
            "Brier calibrated": number(summary["after"].get("brier")),
            "log-loss raw": number(summary["before"].get("nll")),
            "log-loss calibrated": number(summary["after"].get("nll")),
        }
        for side, summary in effect.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(
        "Fitted on validation only; the test side shows whether it carries over. "
        "ECE: 10 equal-width bins."
    )


# -- localization ----------------------------------------------------------------------------


def localization_rows(card: ModelCard) -> list[dict[str, str]]:
    section = card.raw.get("localization") or {}
    rows = []
    for finding, sides in (section.get("findings") or {}).items():
        for side, report in sides.items():
            model, prior = report.get("model", {}), report.get("centre_prior", {})
            rows.append(
                {
                    "finding": finding,
                    "side": side,
                    "images with boxes": str(report.get("n", "?")),
                    "pointing game: model": _with_ci(
                        model.get("pointing_hit_rate"),
                        *model.get("pointing_hit_rate_ci", [None] * 2),
                        "{:.0%}",
                    ),
                    "pointing game: centre prior": _with_ci(
                        prior.get("pointing_hit_rate"),
                        *prior.get("pointing_hit_rate_ci", [None] * 2),
                        "{:.0%}",
                    ),
                    "energy in boxes: model": _with_ci(
                        model.get("energy_inside"),
                        *model.get("energy_inside_ci", [None] * 2),
                        "{:.1%}",
                    ),
                    "energy in boxes: centre prior": _with_ci(
                        prior.get("energy_inside"),
                        *prior.get("energy_inside_ci", [None] * 2),
                        "{:.1%}",
                    ),
                    "box area share": number(report.get("box_area_share"), "{:.1%}"),
                }
            )
    return rows


def render_localization(card: ModelCard) -> None:
    rows = localization_rows(card)
    if not rows:
        st.caption(
            "No localization figures: this model's data carries no radiologist boxes "
            "(only the NIH chest X-rays do)."
        )
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(
        "Pointing game: the heatmap's maximum falls inside a radiologist box of the finding "
        "(Wilson 95% CI). Energy: share of the heatmap inside the boxes (bootstrap 95% CI). "
        "The centre prior is a Gaussian at the image centre: a heatmap that does no better "
        "than it shows nothing about the lesion. Box area share: what a flat map would score."
    )


# -- subgroups -------------------------------------------------------------------------------


def render_subgroups(scored: ScoredSet, label: str, threshold: float, key: str) -> None:
    """Metrics of ``label`` against the rest, sliced by a metadata column of the set."""
    frame = scored.metadata
    columns = metadata_columns(frame) if frame is not None and not frame.empty else []
    if not columns:
        st.caption(
            f"{scored.source.capitalize()} carries no metadata column to slice by (for your own "
            "batch: add columns such as sex, age, scanner or site to the labels CSV)."
        )
        return
    column = st.selectbox("Slice by", columns, key=f"{key}_subgroup_col")
    y, s = scored.binary(label)
    report = slice_metrics(y, s, slice_values(frame, column), threshold=threshold, column=column)
    rows = [
        {
            column: str(row.value),
            "cases": row.n,
            f"'{label}'": row.positives,
            "AUC (95% CI, DeLong)": _with_ci(row.auc, row.auc_low, row.auc_high)
            + (f" — {row.auc_note}" if row.auc_note else ""),
            "sensitivity (95% CI)": _with_ci(
                row.sensitivity, row.sensitivity_low, row.sensitivity_high, "{:.1%}"
            ),
            "specificity (95% CI)": _with_ci(
                row.specificity, row.specificity_low, row.specificity_high, "{:.1%}"
            ),
        }
        for row in report.rows
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for metric, gap in report.gaps.items():
        if gap is None:
            continue
        text = (
            f"Largest {metric} gap: {gap.best} {number(gap.best_estimate)} vs {gap.worst} "
            f"{number(gap.worst_estimate)}, difference {number(gap.difference)} "
            f"(95% CI {number(gap.ci_low)} to {number(gap.ci_high)}, {gap.method})"
        )
        if gap.flagged:
            st.warning(text + ": the CI excludes zero.", icon=":material/flag:")
        else:
            st.caption(text + ": the CI includes zero, no gap shown.")
    st.caption(
        f"Threshold {threshold:.3f} for sensitivity and specificity. Slices under 10 cases get "
        "no AUC. The largest of several gaps is a screen, not a test corrected for multiple "
        "comparisons."
    )


def render_subgroup_comparison(
    sets: list[ScoredSet], label: str, thresholds: Mapping[str, float], key: str
) -> None:
    """Each model's AUC per slice of a metadata column the sets share, side by side."""
    shared: list[str] | None = None
    for scored in sets:
        frame = scored.metadata
        names = metadata_columns(frame) if frame is not None and not frame.empty else []
        shared = names if shared is None else [c for c in shared if c in names]
    if not shared:
        st.caption("These sets share no metadata column to slice by.")
        return
    column = st.selectbox("Slice by", shared, key=f"{key}_subgroup_col")
    table: dict[str, dict[str, str]] = {}
    flags = []
    for scored in sets:
        y, s = scored.binary(label)
        report = slice_metrics(
            y,
            s,
            slice_values(scored.metadata, column),
            threshold=thresholds.get(scored.model_id, 0.5),
            column=column,
        )
        for row in report.rows:
            cell = table.setdefault(str(row.value), {column: str(row.value)})
            cell["cases"] = str(row.n)
            cell[f"{scored.model_id}: AUC"] = _with_ci(row.auc, row.auc_low, row.auc_high)
            cell[f"{scored.model_id}: sens / spec"] = (
                f"{number(row.sensitivity, '{:.0%}')} / {number(row.specificity, '{:.0%}')}"
            )
        flags += [
            f"{scored.model_id}: {metric} {gap.best} vs {gap.worst}, difference "
            f"{number(gap.difference)} (95% CI {number(gap.ci_low)} to {number(gap.ci_high)})"
            for metric, gap in report.gaps.items()
            if gap is not None and gap.flagged
        ]
    st.dataframe(pd.DataFrame(list(table.values())), hide_index=True)
    if flags:
        st.warning(
            "Gaps whose 95% CI excludes zero:\n" + "\n".join(f"- {f}" for f in flags),
            icon=":material/flag:",
        )
    else:
        st.caption("No gap between slices has a 95% CI that excludes zero.")


# -- the card's trust summary (Model zoo page) -------------------------------------------------


def trust_summary_lines(card: ModelCard) -> list[str]:
    raw = card.raw
    lines = []
    check = raw.get("heatmap_check")
    if check:
        lines.append(
            f"Heatmaps: ONNX maps vs GradientTape Grad-CAM on {check['images']} validation "
            f"images: median correlation {check['median']:.4f}, minimum {check['min']:.4f} "
            f"({check['share_at_least_0.99']:.1%} ≥ 0.99; target ≥ 0.99: "
            f"{'met' if check['met'] else 'missed'})."
        )
    ood = raw.get("ood")
    if ood:
        own = [r for r in ood.get("evaluation", []) if r["kind"] == "own"]
        val = next((r for r in own if r["images"].startswith("validation")), None)
        flagged = ood.get("other_kinds_flagged")
        least = (ood.get("targets") or {}).get("other_kinds_flagged_min")
        target = ""
        if isinstance(least, int | float):
            met = isinstance(flagged, int | float) and flagged >= least
            target = f" (target ≥ {least:.0%}: {'met' if met else 'missed'})"
        lines.append(
            f"Out-of-distribution warning: other kinds of images flagged "
            f"{number(flagged, '{:.0%}')}{target}, own validation images "
            f"{number(val['flagged'] if val else None, '{:.0%}')} (≤ 5% by construction)."
        )
    calibration = card.calibration or {}
    effect = calibration.get("effect", {})
    if effect.get("test"):
        before, after = effect["test"]["before"], effect["test"]["after"]
        method = calibration.get("method")
        how = "chosen on validation" if method == "none" else "chosen and fitted on validation"
        lines.append(
            f"Calibration: {method} ({how}); test ECE "
            f"{number(before.get('ece'))} → {number(after.get('ece'))}."
        )
    uncertainty = raw.get("uncertainty")
    if uncertainty:
        val = uncertainty.get("validation", {})
        auc = val.get("width_auc_for_errors") or {}
        lines.append(
            f"Test-time augmentation: {len(uncertainty.get('views', []))} views; median "
            f"interval width {number(val.get('median_width'))} on validation; a wide interval "
            f"picks out errors with AUC {number(auc.get('value'))}."
        )
    return lines


def ood_rows(card: ModelCard) -> pd.DataFrame | None:
    ood = card.raw.get("ood")
    if not ood or not ood.get("evaluation"):
        return None
    return pd.DataFrame(
        [
            {
                "images": row["images"],
                "kind": "same kind as training" if row["kind"] == "own" else "other kind",
                "n": row["n"],
                "flagged": number(row["flagged"], "{:.0%}"),
            }
            for row in ood["evaluation"]
        ]
    )


def readable_card(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The card for display, with the out-of-distribution arrays (base64) left out."""
    card = dict(raw)
    ood = card.get("ood")
    if isinstance(ood, Mapping):
        card["ood"] = {
            key: (
                {k: v for k, v in value.items() if k != "arrays"} | {"arrays": "(omitted)"}
                if isinstance(value, Mapping) and "arrays" in value
                else value
            )
            for key, value in ood.items()
        }
    return card


def boxes_caption(boxes: list[Box]) -> str:
    """The heatmap caption's note on the radiologist boxes drawn over it ('' without any)."""
    if not boxes:
        return ""
    kinds = ", ".join(sorted({box.label for box in boxes}))
    plural = "es" if len(boxes) > 1 else ""
    return f" Green: the radiologist's box{plural} ({kinds}) from the NIH data."
