"""Evaluation metrics for the zoo's classifiers: pure NumPy/SciPy, no scikit-learn.

Binary metrics take ``(y_true, y_score, *, options)``: ``y_true`` holds 0 (negative,
control) and 1 (positive, case) or booleans, and a higher ``y_score`` means "more likely
positive"; a sample is predicted positive when its score is >= the threshold.
Malformed input raises :class:`ValueError`; degenerate input (e.g. a single class)
warns with :class:`UndefinedMetricWarning` and gives NaN.

ROC and precision-recall (:mod:`zoo.metrics.roc`)
    roc_curve, precision_recall_curve, roc_auc, average_precision
DeLong (:mod:`zoo.metrics.delong`), matching R's pROC
    delong_placements, delong_variance, delong_covariance, auc_ci_delong,
    delong_test_paired, delong_test_unpaired; DeLongPlacements, DeLongTestResult,
    DeLongUnpairedResult
Bootstrap (:mod:`zoo.metrics.bootstrap`)
    auc_ci_bootstrap, bootstrap_ci
Thresholds and operating points (:mod:`zoo.metrics.threshold`)
    confusion_at, threshold_metrics, ThresholdTable, youden_threshold,
    threshold_for_sensitivity, threshold_for_specificity, min_cost_threshold,
    card_operating_points;
    ConfusionCounts, METRIC_NAMES
Calibration (:mod:`zoo.metrics.calibration`)
    reliability_curve, expected_calibration_error, brier_score, top_label_ece
Decision curves (:mod:`zoo.metrics.decision`)
    net_benefit, net_benefit_treat_all, net_benefit_treat_none
Multi-class (:mod:`zoo.metrics.multiclass`)
    confusion_matrix, per_class_metrics, accuracy, one_vs_rest_auc, macro_auc
"""

from zoo.metrics._validation import UndefinedMetricWarning
from zoo.metrics.bootstrap import auc_ci_bootstrap, bootstrap_ci
from zoo.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    reliability_curve,
    top_label_ece,
)
from zoo.metrics.decision import net_benefit, net_benefit_treat_all, net_benefit_treat_none
from zoo.metrics.delong import (
    DeLongPlacements,
    DeLongTestResult,
    DeLongUnpairedResult,
    auc_ci_delong,
    delong_covariance,
    delong_placements,
    delong_test_paired,
    delong_test_unpaired,
    delong_variance,
)
from zoo.metrics.multiclass import (
    accuracy,
    confusion_matrix,
    macro_auc,
    one_vs_rest_auc,
    per_class_metrics,
)
from zoo.metrics.proportion import wilson_interval
from zoo.metrics.roc import average_precision, precision_recall_curve, roc_auc, roc_curve
from zoo.metrics.threshold import (
    METRIC_NAMES,
    ConfusionCounts,
    ThresholdTable,
    card_operating_points,
    confusion_at,
    min_cost_threshold,
    threshold_for_sensitivity,
    threshold_for_specificity,
    threshold_metrics,
    youden_threshold,
)

__all__ = [
    "METRIC_NAMES",
    "ConfusionCounts",
    "DeLongPlacements",
    "DeLongTestResult",
    "DeLongUnpairedResult",
    "ThresholdTable",
    "UndefinedMetricWarning",
    "accuracy",
    "auc_ci_bootstrap",
    "auc_ci_delong",
    "average_precision",
    "bootstrap_ci",
    "brier_score",
    "card_operating_points",
    "confusion_at",
    "confusion_matrix",
    "delong_covariance",
    "delong_placements",
    "delong_test_paired",
    "delong_test_unpaired",
    "delong_variance",
    "expected_calibration_error",
    "macro_auc",
    "min_cost_threshold",
    "net_benefit",
    "net_benefit_treat_all",
    "net_benefit_treat_none",
    "one_vs_rest_auc",
    "per_class_metrics",
    "precision_recall_curve",
    "reliability_curve",
    "roc_auc",
    "roc_curve",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "threshold_metrics",
    "top_label_ece",
    "wilson_interval",
    "youden_threshold",
]
