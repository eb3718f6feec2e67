"""Analyses of models on a labelled set, shared by the Compare, Metrics and Batch pages."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts
from ui.figures import number
from ui.state import chosen_threshold
from ui.stats import ScoredSet, evaluation, metrics_at, read_history
from ui.trust import render_subgroup_comparison
from zoo.labels import label_in
from zoo.metrics import delong_test_paired, delong_test_unpaired
from zoo.registry import Registry


def _ci(value: object, ci: object, pattern: str = "{:.3f}") -> str:
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return number(value, pattern)
    return f"{number(value, pattern)} ({number(ci[0], pattern)}–{number(ci[1], pattern)})"


def paired(sets: Sequence[ScoredSet], label: str) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The sets' (truth, score) for ``label`` on the cases every set scored, aligned by
    case_id; None when fewer than two cases are shared or the shared cases carry different
    truths (not one reference standard)."""
    if any(len(set(s.case_ids)) != len(s.case_ids) for s in sets):
        return None
    shared = set(sets[0].case_ids).intersection(*(s.case_ids for s in sets[1:]))
    order = [case for case in sets[0].case_ids if case in shared]
    if len(order) < 2:
        return None
    aligned = []
    truth = None
    for scored in sets:
        position = {case: i for i, case in enumerate(scored.case_ids)}
        index = np.array([position[case] for case in order], dtype=np.int64)
        y, s = scored.binary(label)
        y, s = y[index], s[index]
        if truth is None:
            truth = y
        elif not np.array_equal(truth, y):
            return None  # the same cases carry different labels: not one reference standard
        aligned.append((y, s))
    return aligned


def render_roc_pr(sets: Sequence[ScoredSet], label: str, key: str) -> list[dict]:
    curves = [scored.curves(label) for scored in sets]
    series = [
        (scored.card.name if len(sets) < 2 else scored.model_id, c)
        for scored, c in zip(sets, curves, strict=True)
    ]
    undefined = [
        scored.model_id for scored, c in zip(sets, curves, strict=True) if not c["defined"]
    ]
    if undefined:
        st.warning(
            f"ROC and PR need both '{label}' and other cases; {', '.join(undefined)} "
            "scored a set with only one of them."
        )
    left, right = st.columns(2)
    left.plotly_chart(charts.roc_figure(series), key=f"{key}_roc")
    right.plotly_chart(charts.pr_figure(series), key=f"{key}_pr")
    rows = []
    for scored, c in zip(sets, curves, strict=True):
        auc = c.get("auc", (math.nan,) * 3)
        ap = c.get("ap", (math.nan,) * 3)
        rows.append(
            {
                "model": scored.model_id,
                "cases": c["n"],
                f"'{label}' cases": c["positives"],
                "AUC (95% CI, DeLong)": _ci(auc[0], auc[1:]),
                "AP (95% CI, bootstrap)": _ci(ap[0], ap[1:]),
                "ECE": number(c["ece"]),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    return curves


def _own_cases(scored: ScoredSet, others: set[str], label: str) -> tuple[np.ndarray, np.ndarray]:
    """``scored``'s (truth, score) for ``label`` on the cases no other set scored."""
    keep = np.array([case not in others for case in scored.case_ids], dtype=bool)
    y, s = scored.binary(label)
    return y[keep], s[keep]


def delong_table(sets: Sequence[ScoredSet], label: str) -> tuple[pd.DataFrame | None, str]:
    """Every pair's DeLong test on ``label``, and a sentence on what it was computed on.

    Paired (pROC's paired DeLong) on the cases every model scored when they hold both
    classes; otherwise unpaired (pROC's "D" test) on independent samples: each model's
    cases that the other did not score, so that no case counts twice.
    """
    aligned = paired(sets, label)
    both = aligned is not None and 0 < aligned[0][0].sum() < len(aligned[0][0])
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, j in itertools.combinations(range(len(sets)), 2):
            a, b = sets[i], sets[j]
            if both:
                (y, sa), (_, sb) = aligned[i], aligned[j]
                result = delong_test_paired(y, sa, sb)
                statistic, n = result.z, f"{len(y)}"
            else:
                ya, sa = _own_cases(a, set(b.case_ids), label)
                yb, sb = _own_cases(b, set(a.case_ids), label)
                if not (0 < ya.sum() < len(ya) and 0 < yb.sum() < len(yb)):
                    continue
                result = delong_test_unpaired(ya, sa, yb, sb)
                statistic, n = result.d, f"{len(ya)} + {len(yb)}"
            rows.append(
                {
                    "model A": a.model_id,
                    "model B": b.model_id,
                    "cases": n,
                    "AUC A": number(result.auc_a),
                    "AUC B": number(result.auc_b),
                    "difference (95% CI)": _ci(result.difference, [result.ci_low, result.ci_high]),
                    "z" if both else "D": number(statistic, "{:.2f}"),
                    "p": number(result.p_value, "{:.4f}"),
                }
            )
    if not rows:
        return None, (
            f"No pair of these models has cases of both kinds for '{label}', shared or of "
            "its own, so no test is possible: only the separate AUC CIs above can be "
            "compared, and overlapping CIs do not show that two AUCs are equal."
        )
    if both:
        return pd.DataFrame(rows), (
            f"Paired DeLong test on the {len(aligned[0][0])} cases every model scored "
            "(two-sided, H₀: equal AUCs). Several pairs: mind multiple testing."
        )
    return pd.DataFrame(rows), (
        "These models share no cases of both kinds, so they are compared on independent "
        "samples: each model's cases that the other did not score (DeLong's unpaired test, "
        "pROC's D with Welch degrees of freedom). Weaker than a paired test: score the same "
        "scans with both on the Batch page for one. Several pairs: mind multiple testing."
    )


def render_delong(sets: Sequence[ScoredSet], label: str) -> pd.DataFrame | None:
    """:func:`delong_table`, rendered."""
    st.markdown("**DeLong test** (two-sided, H₀: equal AUCs)")
    table, sentence = delong_table(sets, label)
    if table is None:
        st.info(sentence)
        return None
    st.dataframe(table, hide_index=True)
    st.caption(sentence)
    return table


def default_threshold(scored: ScoredSet, label: str) -> float:
    """The threshold chosen on the Thresholds page this session, else the card's, else 0.5."""
    card = scored.card
    own = label_in(card, label) or label
    chosen = chosen_threshold(scored.model_id, own)
    if chosen is not None:
        return float(chosen)
    if card.is_binary:  # P(negative) = 1 - P(positive): the same call at 1 - t
        positive = own == card.positive_label
        return card.default_threshold if positive else 1.0 - card.default_threshold
    if card.is_multilabel:
        return card.label_thresholds[own]
    return 0.5


def finding_rows(scored: ScoredSet) -> pd.DataFrame:
    """A multi-label model on a labelled set: each label at its own threshold (from the
    card), AUC with its DeLong CI, sensitivity and specificity with Wilson CIs."""
    report = evaluation(scored.card, scored.y_true, scored.probabilities)
    rows = []
    for label, metrics in report["per_label"].items():
        rows.append(
            {
                "finding": label,
                "cases with it": metrics["positives"],
                "AUC (95% CI)": _ci(metrics["auc"]["value"], metrics["auc"]["ci"]),
                "its threshold": round(metrics["threshold"], 3),
                "sensitivity (95% CI)": _ci(
                    metrics["sensitivity"]["value"], metrics["sensitivity"]["ci"], "{:.1%}"
                ),
                "specificity (95% CI)": _ci(
                    metrics["specificity"]["value"], metrics["specificity"]["ci"], "{:.1%}"
                ),
            }
        )
    return pd.DataFrame(rows)


def findings_table(scored: ScoredSet) -> None:
    """:func:`finding_rows`, rendered, with the macro AUC."""
    report = evaluation(scored.card, scored.y_true, scored.probabilities)
    macro = report["metrics"].get("macro_auc_ci") or {"value": report["metrics"]["macro_auc"]}
    st.markdown(
        f"**Every finding, each at its own threshold** (macro AUC over the findings the set "
        f"holds: {_ci(macro.get('value'), macro.get('ci'))})"
    )
    st.dataframe(finding_rows(scored), hide_index=True)


def render_threshold_metrics(sets: Sequence[ScoredSet], label: str, key: str) -> pd.DataFrame:
    st.markdown(f"**Metrics at each model's threshold** (label of interest: '{label}')")
    columns = st.columns(min(4, len(sets)))
    thresholds = {}
    for i, scored in enumerate(sets):
        thresholds[scored.model_id] = columns[i % len(columns)].number_input(
            f"Threshold: {scored.model_id}",
            0.0,
            1.0,
            value=float(default_threshold(scored, label)),
            step=0.01,
            format="%.3f",
            key=f"{key}_t_{scored.model_id}_{label}",
        )
    rows = []
    for scored in sets:
        t = thresholds[scored.model_id]
        at = metrics_at(scored.table(label), t)
        rows.append(
            {
                "model": scored.model_id,
                "threshold": round(t, 3),
                "TP": at["tp"],
                "FP": at["fp"],
                "TN": at["tn"],
                "FN": at["fn"],
                "sensitivity (95% CI)": _ci(at["sensitivity"], at["sensitivity_ci"], "{:.1%}"),
                "specificity (95% CI)": _ci(at["specificity"], at["specificity_ci"], "{:.1%}"),
                "PPV": number(at["ppv"], "{:.1%}"),
                "NPV": number(at["npv"], "{:.1%}"),
                "F1": number(at["f1"]),
                "accuracy": number(at["accuracy"], "{:.1%}"),
            }
        )
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True)
    st.caption(
        "Sensitivity and specificity CIs: Wilson. Thresholds default to the ones chosen "
        "on the Thresholds page this session, else each card's default."
    )
    return table


def render_comparison(sets: Sequence[ScoredSet], label: str, key: str) -> None:
    """ROC and PR overlaid, AUC CIs, paired DeLong, metrics at thresholds, calibration."""
    curves = render_roc_pr(sets, label, key)
    render_delong(sets, label)
    thresholds = render_threshold_metrics(sets, label, key)
    series = [(s.model_id, c) for s, c in zip(sets, curves, strict=True)]
    left, right = st.columns(2)
    left.plotly_chart(
        charts.calibration_figure(series, title=f"Calibration of P('{label}')"), key=f"{key}_cal"
    )
    right.markdown(
        "**Calibration.** Each point is a bin of cases (10 equal-width bins): the mean predicted "
        "probability against the observed frequency. On the diagonal a model's probabilities "
        "can be read as risks; ECE is the count-weighted mean distance from it."
    )
    st.markdown("**Subgroups**")
    render_subgroup_comparison(
        list(sets),
        label,
        dict(zip(thresholds["model"], thresholds["threshold"], strict=True)),
        key,
    )


def render_model_metrics(scored: ScoredSet, label: str, key: str, threshold: float) -> None:
    """One model on one labelled set: ROC/PR with CIs, confusion matrix, calibration, per class."""
    card = scored.card
    curves = scored.curves(label)
    if curves["defined"]:
        left, right = st.columns(2)
        left.plotly_chart(
            charts.roc_figure(
                [(card.id, curves)],
                title=f"ROC: '{label}' vs rest"
                if not card.is_binary
                else "ROC curve (95% pointwise band)",
            ),
            key=f"{key}_roc",
        )
        right.plotly_chart(charts.pr_figure([(card.id, curves)]), key=f"{key}_pr")
    else:
        st.warning(f"This set holds only one class for '{label}': ROC and PR are undefined.")
    report = evaluation(card, scored.y_true, scored.probabilities, threshold=threshold)
    metrics = report["metrics"]
    rows = []
    for name, value in metrics.items():
        if isinstance(value, dict):
            rows.append(
                {
                    "metric": name,
                    "value (95% CI)": _ci(value.get("value"), value.get("ci")),
                    "method": value.get("method", ""),
                }
            )
        else:
            rows.append(
                {
                    "metric": name,
                    "value (95% CI)": number(value) if isinstance(value, float) else str(value),
                    "method": "",
                }
            )
    left, right = st.columns([3, 2])
    with left:
        st.markdown(
            "**Metrics**"
            + (f" at threshold {threshold:.3f}" if card.is_binary else " (most probable label)")
        )
        st.dataframe(pd.DataFrame(rows), hide_index=True, height="content")
    with right:
        st.plotly_chart(
            charts.confusion_figure(
                report["confusion_matrix"],
                card.labels,
                title="Confusion matrix" + (f" (t = {threshold:.3f})" if card.is_binary else ""),
            ),
            key=f"{key}_cm",
        )
    if not card.is_binary and report.get("per_class"):
        st.markdown("**Per-class metrics** (one-vs-rest, most probable label)")
        per_class = pd.DataFrame(report["per_class"]).T.reset_index(names="label")
        aucs = {lab: metrics.get(f"auc_{lab}", {}) for lab in card.labels}
        per_class["AUC (95% CI)"] = [
            _ci(aucs[lab].get("value"), aucs[lab].get("ci")) for lab in per_class["label"]
        ]
        st.dataframe(per_class, hide_index=True, height="content")
    left, right = st.columns(2)
    left.plotly_chart(
        charts.calibration_figure([(card.id, curves)], title=f"Calibration of P('{label}')"),
        key=f"{key}_cal",
    )
    with right:
        st.markdown("**Calibration**")
        st.markdown(
            f"Expected calibration error (10 equal-width bins) of P('{label}'): "
            f"**{curves['ece']:.3f}**. "
            + (
                f"Top-label ECE: **{number(metrics.get('ece_top_label'))}**. "
                if not card.is_binary
                else ""
            )
            + "Points above the diagonal: the model under-estimates; below: it over-estimates. "
            "Marker size shows how many cases fall in a bin."
        )
        if card.calibration:
            st.caption(f"Card calibration: {card.calibration.get('method', 'n/a')}")
        if not card.calibrator.is_identity and scored.cache_key is not None:
            st.caption(
                "These validation predictions are the ones the calibration was fitted on, so "
                "their calibration error is in-sample (optimistic); the card's test-side "
                "figures below are the honest ones."
            )


def render_history(registry: Registry, model_id: str, key: str) -> None:
    entry = registry.get(model_id)
    history = None if entry.directory is None else read_history(entry.directory)
    if history is None:
        st.info(
            "This model ships no training history (`history.json` beside its card), so no "
            "training curves can be shown."
        )
        return
    metrics = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    metrics += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    columns = st.columns(min(3, max(1, len(metrics))))
    for i, metric in enumerate(metrics):
        columns[i % len(columns)].plotly_chart(
            charts.history_figure(history, metric), key=f"{key}_hist_{metric}"
        )
    epochs = max(len(v) for v in history.values())
    if epochs < 2:
        st.caption(f"The history holds {epochs} epoch: curves need more epochs to be informative.")
