"""Plotly figures for the pages. Pure functions: data in, ``go.Figure`` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from ui.stats import DECISION_GRID, FPR_GRID

PALETTE = qualitative.Plotly
HEIGHT = 360


def _layout(
    fig: go.Figure,
    title: str,
    x: str,
    y: str,
    *,
    height: int = HEIGHT,
    legend_rows: int | None = None,
) -> go.Figure:
    """Common look; the legend sits below the x-axis title, in the figure's bottom margin.

    Without ``legend_rows``, one row per legend entry: entries ("model: AUC 0.705 (0.546–
    0.865)") are long, and a margin sized for two rows cut the third one off.
    """
    if legend_rows is None:
        legend_rows = sum(1 for trace in fig.data if trace.showlegend is not False)
    bottom = 58 + 20 * legend_rows
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        xaxis_title=x,
        yaxis_title=y,
        height=height + bottom - 45,
        margin={"l": 55, "r": 20, "t": 50, "b": bottom},
        legend={
            "orientation": "h",
            "yref": "container",
            "y": 0.0,
            "yanchor": "bottom",
            "x": 0.0,
            "xanchor": "left",
        },
    )
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _auc_text(curves: Mapping[str, Any]) -> str:
    auc, low, high = curves["auc"]
    return f"AUC {auc:.3f} ({low:.3f}–{high:.3f})"


def roc_figure(
    series: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    point: tuple[float, float] | None = None,
    title: str = "ROC curve",
) -> go.Figure:
    """ROC curves (name, curves from :func:`ui.stats.compute_curves`), with CI bands if given."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dot", "color": "#999"},
            name="chance",
            hoverinfo="skip",
        )
    )
    for i, (name, curves) in enumerate(series):
        if "roc" not in curves:
            continue
        color = PALETTE[i % len(PALETTE)]
        band = curves.get("roc_band")
        if band is not None and len(series) <= 3:
            _, low, high = band
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([FPR_GRID, FPR_GRID[::-1]]),
                    y=np.concatenate([high, low[::-1]]),
                    fill="toself",
                    fillcolor=_rgba(color, 0.15),
                    line={"width": 0},
                    hoverinfo="skip",
                    name=f"{name} 95% band",
                    showlegend=False,
                )
            )
        fpr, tpr, _ = curves["roc"]
        fig.add_trace(
            go.Scatter(
                x=fpr,
                y=tpr,
                mode="lines",
                line={"color": color, "width": 2},
                name=f"{name}: {_auc_text(curves)}",
            )
        )
    if point is not None:
        fig.add_trace(
            go.Scatter(
                x=[point[0]],
                y=[point[1]],
                mode="markers",
                marker={"size": 13, "color": "#d62728", "symbol": "x"},
                name="current threshold",
            )
        )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, title, "False positive rate (1 − specificity)", "Sensitivity")


def pr_figure(
    series: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    point: tuple[float, float] | None = None,
    title: str = "Precision–recall curve",
) -> go.Figure:
    fig = go.Figure()
    for i, (name, curves) in enumerate(series):
        if "pr" not in curves:
            continue
        color = PALETTE[i % len(PALETTE)]
        precision, recall, _ = curves["pr"]
        ap, low, high = curves["ap"]
        fig.add_trace(
            go.Scatter(
                x=recall,
                y=precision,
                mode="lines",
                line={"color": color, "width": 2, "shape": "hv"},
                name=f"{name}: AP {ap:.3f} ({low:.3f}–{high:.3f})",
            )
        )
        prevalence = curves["positives"] / max(1, curves["n"])
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[prevalence, prevalence],
                mode="lines",
                line={"dash": "dot", "color": color, "width": 1},
                hoverinfo="skip",
                name=f"{name}: prevalence {prevalence:.2f}",
                showlegend=len(series) == 1,
            )
        )
    if point is not None:
        fig.add_trace(
            go.Scatter(
                x=[point[0]],
                y=[point[1]],
                mode="markers",
                marker={"size": 13, "color": "#d62728", "symbol": "x"},
                name="current threshold",
            )
        )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, title, "Recall (sensitivity)", "Precision (PPV)")


def calibration_figure(
    series: Sequence[tuple[str, Mapping[str, Any]]], *, title: str = "Calibration (reliability)"
) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dot", "color": "#999"},
            name="perfect calibration",
            hoverinfo="skip",
        )
    )
    for i, (name, curves) in enumerate(series):
        mean_pred, frac_pos, counts = curves["reliability"]
        fig.add_trace(
            go.Scatter(
                x=mean_pred,
                y=frac_pos,
                mode="lines+markers",
                line={"color": PALETTE[i % len(PALETTE)]},
                marker={"size": 6 + 10 * np.sqrt(counts / max(1, counts.max()))},
                customdata=counts,
                hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}"
                "<br>n = %{customdata}<extra></extra>",
                name=f"{name}: ECE {curves['ece']:.3f}",
            )
        )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, title, "Mean predicted probability", "Observed frequency")


def histogram_figure(
    scores: np.ndarray,
    y: np.ndarray,
    threshold: float,
    *,
    positive: str,
    negative: str,
    title: str = "Validation scores by true class",
) -> go.Figure:
    # binned here: 40 bars travel to the browser instead of every validation score
    fig = go.Figure()
    edges = np.linspace(0.0, 1.0, 41)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    y = np.asarray(y).astype(bool)
    for mask, name, colour in ((~y, negative, PALETTE[0]), (y, positive, PALETTE[1])):
        counts, _ = np.histogram(np.clip(scores[mask], 0.0, 1.0), bins=edges)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts,
                width=width,
                name=f"true {name}",
                marker_color=colour,
                opacity=0.65,
            )
        )
    fig.add_vline(x=threshold, line={"color": "#d62728", "width": 2, "dash": "dash"})
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(range=[0, 1])
    return _layout(fig, title, f"Score for '{positive}'", "Cases")


def net_benefit_figure(
    curves: Mapping[str, Any], threshold: float, *, name: str = "model"
) -> go.Figure:
    fig = go.Figure()
    nb = curves["net_benefit"]
    treat_all = curves["treat_all"]
    fig.add_trace(go.Scatter(x=DECISION_GRID, y=nb, mode="lines", name=name, line={"width": 2}))
    fig.add_trace(
        go.Scatter(
            x=DECISION_GRID, y=treat_all, mode="lines", name="treat all", line={"dash": "dash"}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=DECISION_GRID,
            y=np.zeros_like(DECISION_GRID),
            mode="lines",
            name="treat none",
            line={"dash": "dot", "color": "#777"},
        )
    )
    fig.add_vline(x=threshold, line={"color": "#d62728", "width": 2, "dash": "dash"})
    prevalence = curves["positives"] / max(1, curves["n"])
    fig.update_yaxes(range=[min(-0.05, float(np.nanmin(nb)) - 0.02), max(0.05, prevalence * 1.1)])
    fig.update_xaxes(range=[0, 1])
    return _layout(fig, "Decision curve", "Threshold probability", "Net benefit")


def confusion_figure(
    matrix: np.ndarray | Sequence[Sequence[int]],
    labels: Sequence[str],
    *,
    title: str = "Confusion matrix",
    height: int = 320,
) -> go.Figure:
    matrix = np.asarray(matrix, dtype=np.int64)
    row_totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, row_totals, out=np.zeros(matrix.shape), where=row_totals > 0)
    text = [
        [f"{matrix[i, j]}<br>({share[i, j]:.0%})" for j in range(matrix.shape[1])]
        for i in range(matrix.shape[0])
    ]
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=[f"pred. {v}" for v in labels],
            y=[f"true {v}" for v in labels],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="%{y} → %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, "", "", height=height, legend_rows=0)


def probability_bars(
    probabilities: Mapping[str, float],
    *,
    highlight: str | None = None,
    threshold: float | None = None,
    title: str = "Probability per label",
) -> go.Figure:
    labels = list(probabilities)
    values = [probabilities[k] for k in labels]
    colors = [PALETTE[1] if k == highlight else PALETTE[0] for k in labels]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=colors,
            text=[f"{v:.3f}" for v in values],
            textposition="auto",
        )
    )
    if threshold is not None:
        fig.add_vline(x=threshold, line={"color": "#d62728", "width": 2, "dash": "dash"})
    fig.update_xaxes(range=[0, 1])
    return _layout(
        fig, title, "Probability", "", height=max(160, 60 + 40 * len(labels)), legend_rows=0
    )


def history_figure(history: Mapping[str, Sequence[float]], metric: str) -> go.Figure:
    """One training metric per epoch, training and validation (``val_``) together."""
    fig = go.Figure()
    for key in (metric, f"val_{metric}"):
        values = history.get(key)
        if values:
            fig.add_trace(
                go.Scatter(
                    x=list(range(1, len(values) + 1)),
                    y=list(values),
                    mode="lines+markers",
                    name="validation" if key.startswith("val_") else "training",
                )
            )
    return _layout(fig, metric.replace("_", " "), "Epoch", metric, height=250, legend_rows=1)
