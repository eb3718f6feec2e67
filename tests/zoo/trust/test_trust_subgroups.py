"""Subgroup analysis: per-slice metrics, gaps between slices, slicing columns and bands."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from zoo.metrics import (
    auc_ci_delong,
    delong_test_unpaired,
    roc_auc,
    wilson_interval,
)
from zoo.trust.subgroups import (
    MISSING,
    SubgroupReport,
    bin_numeric,
    metadata_columns,
    newcombe_interval,
    slice_metrics,
    slice_values,
)


def by_value(report: SubgroupReport) -> dict:
    return {row.value: row for row in report.rows}


def planted(seed: int, *, n: int = 300, good_in_b: bool = True):
    """Two slices of n cases: "a" drawn like "b", unless good_in_b (then "a" is useless)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(2 * n) < 0.4).astype(int)
    slices = np.repeat(["a", "b"], n)
    informative = y + rng.normal(0.0, 0.6, 2 * n)
    noise = rng.random(2 * n)
    score = np.where((slices == "a") & good_in_b, noise, informative)
    return y, score, slices


class TestSliceCounts:
    # slice "x": positives score 0.9, 0.6, 0.2; negatives 0.7, 0.1, 0.3, 0.5
    # slice "y": positives score 0.5, 0.4; negatives 0.4, 0.1
    Y = (1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0)
    S = (0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.5, 0.5, 0.4, 0.4, 0.1)
    SLICES = ("x",) * 7 + ("y",) * 4

    def report(self, **kwargs):
        return slice_metrics(self.Y, self.S, self.SLICES, threshold=0.5, **kwargs)

    def test_counts_by_hand(self):
        rows = by_value(self.report())
        x, y = rows["x"], rows["y"]
        # a score equal to the threshold (0.5) is predicted positive
        assert (x.n, x.positives, x.negatives) == (7, 3, 4)
        assert (x.tp, x.fp, x.tn, x.fn) == (2, 2, 2, 1)
        assert (y.n, y.positives, y.negatives) == (4, 2, 2)
        assert (y.tp, y.fp, y.tn, y.fn) == (1, 0, 2, 1)

    def test_sensitivity_specificity_by_hand(self):
        rows = by_value(self.report())
        assert rows["x"].sensitivity == pytest.approx(2 / 3)
        assert rows["x"].specificity == pytest.approx(2 / 4)
        assert rows["y"].sensitivity == pytest.approx(1 / 2)
        assert rows["y"].specificity == pytest.approx(2 / 2)

    def test_proportion_cis_are_wilson(self):
        x = by_value(self.report(alpha=0.1))["x"]
        assert (x.sensitivity_low, x.sensitivity_high) == pytest.approx(
            wilson_interval(2, 3, alpha=0.1)
        )
        assert (x.specificity_low, x.specificity_high) == pytest.approx(
            wilson_interval(2, 4, alpha=0.1)
        )

    def test_small_slices_have_no_auc_and_no_gaps(self):
        report = self.report()  # min_cases=10 and both slices are smaller
        for row in report.rows:
            assert math.isnan(row.auc) and math.isnan(row.auc_low)
            assert "fewer than 10 cases" in row.auc_note
            assert not math.isnan(row.sensitivity)  # still reported
        assert report.gaps == {"auc": None, "sensitivity": None, "specificity": None}

    def test_auc_with_min_cases_lowered(self):
        x = by_value(self.report(min_cases=2))["x"]
        mask = np.array(self.SLICES) == "x"
        expected = auc_ci_delong(np.array(self.Y)[mask], np.array(self.S)[mask])
        assert (x.auc, x.auc_low, x.auc_high) == pytest.approx(expected)
        assert x.auc == pytest.approx(8 / 12)  # 8 of the 12 case-control pairs ordered
        assert x.auc_note is None


class TestSliceAuc:
    def test_auc_per_slice_equals_roc_auc_on_the_subset(self):
        rng = np.random.default_rng(3)
        y = (rng.random(240) < 0.3).astype(int)
        s = np.round(rng.normal(size=240) + 1.2 * y, 1)  # rounded: ties count 1/2
        slices = np.array(["site A", "site B", "site C"])[np.arange(240) % 3]
        report = slice_metrics(y, s, slices, threshold=0.0)
        assert [r.value for r in report.rows] == ["site A", "site B", "site C"]
        for row in report.rows:
            mask = slices == row.value
            assert row.n == mask.sum()
            assert row.auc == pytest.approx(roc_auc(y[mask], s[mask]), abs=1e-12)
            assert (row.auc_low, row.auc_high) == pytest.approx(
                auc_ci_delong(y[mask], s[mask])[1:], abs=1e-12
            )

    def test_one_class_slice_has_nan_auc_with_a_reason(self):
        rng = np.random.default_rng(4)
        y = np.r_[(rng.random(100) < 0.5).astype(int), np.zeros(30, dtype=int)]
        s = np.r_[y[:100] + rng.normal(0, 0.8, 100), rng.random(30) + 0.6]
        slices = np.repeat(["a", "b", "only negatives"], [50, 50, 30])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the reason is reported, not warned
            report = slice_metrics(y, s, slices, threshold=0.5)
        row = by_value(report)["only negatives"]
        assert math.isnan(row.auc) and math.isnan(row.auc_low) and math.isnan(row.auc_high)
        assert "single class" in row.auc_note and "0 positives" in row.auc_note
        assert math.isnan(row.sensitivity)
        auc_gap = report.gaps["auc"]
        assert {auc_gap.best, auc_gap.worst} == {"a", "b"}
        # its specificity (all scores >= 0.6) is the worst and does enter that gap
        assert report.gaps["specificity"].worst == "only negatives"
        assert report.gaps["sensitivity"].worst != "only negatives"

    def test_single_positive_keeps_the_auc_but_not_its_ci(self):
        y = np.r_[np.zeros(11, dtype=int), 1, np.tile([0, 1], 10)]
        s = np.r_[np.linspace(0, 0.5, 11), 0.9, np.tile([0.2, 0.8], 10)]
        slices = np.repeat(["rare", "common"], [12, 20])
        report = slice_metrics(y, s, slices, threshold=0.5)
        rare = by_value(report)["rare"]
        assert rare.auc == 1.0
        assert math.isnan(rare.auc_low) and "fewer than 2 positives" in rare.auc_note
        assert report.gaps["auc"] is None  # only one slice has an AUC with a CI


class TestGaps:
    def test_planted_gap_is_flagged(self):
        y, s, slices = planted(11)
        report = slice_metrics(y, s, slices, threshold=0.5)
        for metric in ("auc", "sensitivity", "specificity"):
            gap = report.gaps[metric]
            assert (gap.best, gap.worst) == ("b", "a"), metric
            assert gap.flagged and gap.ci_low > 0, metric
        auc_gap = report.gaps["auc"]
        a, b = slices == "a", slices == "b"
        test = delong_test_unpaired(y[b], s[b], y[a], s[a])
        assert auc_gap.difference == pytest.approx(test.difference)
        assert (auc_gap.ci_low, auc_gap.ci_high) == pytest.approx((test.ci_low, test.ci_high))
        assert auc_gap.p_value == pytest.approx(test.p_value) and auc_gap.p_value < 1e-6
        assert auc_gap.method == "DeLong unpaired"

    def test_no_gap_flagged_between_slices_from_one_distribution(self):
        y, s, slices = planted(12, good_in_b=False)
        report = slice_metrics(y, s, slices, threshold=0.5)
        for metric in ("auc", "sensitivity", "specificity"):
            gap = report.gaps[metric]
            assert gap.ci_low < 0 < gap.ci_high, metric
            assert not gap.flagged, metric

    def test_flag_rate_under_no_difference_is_near_alpha(self):
        # 150 null data sets: a CI too narrow (say 1 SE) would flag ~30% of them
        rng = np.random.default_rng(13)
        flags = np.zeros(3)
        for _ in range(150):
            y = (rng.random(160) < 0.4).astype(int)
            s = y + rng.normal(size=160)
            slices = np.where(rng.random(160) < 0.5, "a", "b")
            report = slice_metrics(y, s, slices, threshold=0.5)
            flags += [report.gaps[m].flagged for m in ("auc", "sensitivity", "specificity")]
        assert (flags / 150 < 0.12).all(), flags / 150

    def test_proportion_gap_is_newcombe_on_the_counts(self):
        y, s, slices = planted(11)
        report = slice_metrics(y, s, slices, threshold=0.5, alpha=0.1)
        rows = by_value(report)
        gap = report.gaps["sensitivity"]
        best, worst = rows[gap.best], rows[gap.worst]
        expected = newcombe_interval(best.tp, best.positives, worst.tp, worst.positives, alpha=0.1)
        assert gap.difference == pytest.approx(expected[0])
        assert (gap.ci_low, gap.ci_high) == pytest.approx(expected[1:])
        assert gap.p_value is None

    def test_two_perfect_slices_give_an_unflagged_gap_without_warnings(self):
        y = np.tile([0, 1], 20)
        s = y + np.linspace(0, 0.5, 40)  # every positive above every negative
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gap = slice_metrics(y, s, np.repeat(["a", "b"], 20), threshold=0.5).gaps["auc"]
        assert gap.difference == 0.0 and math.isnan(gap.ci_low) and not gap.flagged

    def test_largest_of_three_slices(self):
        rng = np.random.default_rng(5)
        n = 600
        y = (rng.random(n) < 0.5).astype(int)
        slices = np.array(["low", "mid", "high"])[np.arange(n) % 3]
        strength = {"low": 0.2, "mid": 1.0, "high": 3.0}
        s = y * np.vectorize(strength.get)(slices) + rng.normal(size=n)
        gap = slice_metrics(y, s, slices, threshold=0.5).gaps["auc"]
        assert (gap.best, gap.worst) == ("high", "low")


class TestNewcombe:
    # Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (hybrid score, no CC)
    @pytest.mark.parametrize(
        ("counts", "expected"),
        [
            ((56, 70, 48, 80), (0.0524, 0.3339)),
            ((9, 10, 3, 10), (0.1705, 0.8090)),
            ((6, 7, 2, 7), (0.0582, 0.8062)),
            ((5, 56, 0, 29), (-0.0381, 0.1926)),
            ((0, 10, 0, 20), (-0.1611, 0.2775)),
            ((10, 10, 0, 10), (0.6075, 1.0000)),
        ],
    )
    def test_matches_newcombe_table_ii(self, counts, expected):
        difference, low, high = newcombe_interval(*counts)
        assert difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
        assert (low, high) == pytest.approx(expected, abs=5e-5)

    def test_swapping_samples_mirrors_the_interval(self):
        d, low, high = newcombe_interval(56, 70, 48, 80)
        assert newcombe_interval(48, 80, 56, 70) == pytest.approx((-d, -high, -low))

    def test_empty_sample_gives_nan(self):
        assert all(math.isnan(v) for v in newcombe_interval(0, 0, 3, 10))


class TestMissingAndOrder:
    def test_missing_values_form_one_slice_listed_last(self):
        slices = ["b", None, np.nan, "", "  ", pd.NA, "a", "a"]
        y = [1, 0, 1, 0, 1, 0, 1, 0]
        s = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4]
        report = slice_metrics(y, s, slices, threshold=0.5, min_cases=1)
        assert [(r.value, r.n) for r in report.rows] == [("a", 2), ("b", 1), (MISSING, 5)]

    def test_numbers_sort_numerically_and_lose_trailing_zeros(self):
        slices = [10.0, 2.0, np.nan, 2.0, 1.0, 10.0]
        report = slice_metrics([1, 0, 1, 0, 1, 0], [0.5] * 6, slices, threshold=0.5)
        assert [r.value for r in report.rows] == ["1", "2", "10", MISSING]

    def test_numbers_written_as_text_sort_numerically_before_words(self):
        slices = ["10", "2", "other", " 1 "]
        report = slice_metrics([1, 0, 1, 0], [0.5] * 4, slices, threshold=0.5)
        assert [r.value for r in report.rows] == ["1", "2", "10", "other"]

    def test_categorical_order_is_kept_and_column_named(self):
        frame = pd.DataFrame({"view": ["PA", "AP", "LL", "AP"]})
        frame["view"] = pd.Categorical(frame["view"], categories=["PA", "LL", "AP", "unused"])
        report = slice_metrics([1, 0, 1, 0], [0.5] * 4, frame["view"], threshold=0.5)
        assert [r.value for r in report.rows] == ["PA", "LL", "AP"]
        assert report.column == "view"

    def test_length_mismatch_raises(self):
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            slice_metrics([0, 1, 0], [0.1, 0.2, 0.3], ["a", "b"], threshold=0.5)

    def test_bad_min_cases_raises(self):
        with pytest.raises(ValueError, match="min_cases"):
            slice_metrics([0, 1], [0.1, 0.2], ["a", "b"], threshold=0.5, min_cases=0)


def labelled_set(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "case_id": [f"case{i:03d}" for i in range(n)],
            "label": rng.choice(["Mass", "No Finding"], n),
            "p_Mass": rng.random(n),
            "p_No Finding": rng.random(n),
            "path": [f"images/{i:05d}.png" for i in range(n)],
            "view": rng.choice(["AP", "PA"], n),
            "source": rng.choice(["NIH", "PadChest", "CheXpert"], n),
            "sex": rng.choice(["F", "M", None], n),
            "age": rng.integers(18, 95, n),
            "scanner_id": "S1",  # a single level cannot slice
            "site_code": [f"{i % 25:02d}" for i in range(n)],  # 25 codes, numbers as text
            "tinted": rng.random(n) < 0.3,
        }
    )


class TestMetadataColumns:
    def test_picks_slicing_columns_and_skips_ids_labels_scores_paths(self):
        got = metadata_columns(labelled_set())
        assert got == ["view", "source", "sex", "age", "site_code", "tinted"]

    def test_exclude_and_max_levels(self):
        frame = labelled_set()
        frame["site"] = [f"site {i % 25}" for i in range(len(frame))]  # 25 text levels
        got = metadata_columns(frame, exclude=["tinted", "sex"], max_levels=20)
        assert got == ["view", "source", "age", "site_code"]  # text with 25 levels is out
        assert "site" in metadata_columns(frame, max_levels=30)

    def test_unique_text_of_a_small_set_is_an_identifier(self):
        frame = pd.DataFrame({"scan": [f"s{i}" for i in range(8)], "view": ["AP", "PA"] * 4})
        assert metadata_columns(frame) == ["view"]


class TestSliceValues:
    def test_text_column_with_missing(self):
        frame = pd.DataFrame({"sex": ["M", None, "F", "", "M"]})
        got = slice_values(frame, "sex")
        assert got.tolist() == ["M", MISSING, "F", MISSING, "M"]
        assert list(got.cat.categories) == ["F", "M", MISSING]
        assert got.name == "sex"

    def test_many_valued_numeric_column_is_binned(self):
        frame = pd.DataFrame({"age": np.r_[np.arange(1, 101), np.nan]}, index=range(5, 106))
        got = slice_values(frame, "age")
        assert list(got.cat.categories) == ["1–25", "26–50", "51–75", "76–100", MISSING]
        assert got.loc[5] == "1–25" and got.loc[105] == MISSING
        assert got.index.equals(frame.index)

    def test_few_valued_numeric_column_keeps_its_levels(self):
        frame = pd.DataFrame({"grade": [3, 1, 2, 1, np.nan]})
        got = slice_values(frame, "grade")
        assert got.tolist() == ["3", "1", "2", "1", MISSING]

    def test_unknown_column_raises(self):
        with pytest.raises(KeyError, match="nope"):
            slice_values(pd.DataFrame({"a": [1]}), "nope")


class TestBinNumeric:
    def test_quartile_bands_of_1_to_100(self):
        got = bin_numeric(np.arange(1, 101))
        assert list(got.cat.categories) == ["1–25", "26–50", "51–75", "76–100"]
        assert got.cat.ordered
        assert got.value_counts(sort=False).tolist() == [25, 25, 25, 25]
        # the upper edge belongs to the lower band
        assert got[24] == "1–25" and got[25] == "26–50"

    def test_labels_show_the_values_each_band_holds(self):
        ages = pd.Series([40, 55, 41, 70, 42, 56, 80, 60], name="age")
        got = bin_numeric(ages)
        assert list(got.cat.categories) == ["40–41", "42–55", "56–60", "70–80"]
        assert got.name == "age"

    def test_text_numbers_missing_and_ties(self):
        got = bin_numeric(["0", "0", "0", "0", "0", "0", "3", "7", "", None])
        assert list(got.cat.categories) == ["0", "3–7"]  # the zeros fill a band alone
        assert got.isna().sum() == 2

    def test_non_numbers_raise(self):
        with pytest.raises(ValueError, match="finite numbers"):
            bin_numeric(["a", "b"])
        with pytest.raises(ValueError, match="bins"):
            bin_numeric([1, 2, 3], bins=1)


class TestOutputs:
    def test_to_dict_is_json_with_nan_as_none(self):
        y, s, slices = planted(11, n=40)
        slices = slices.astype(object)
        slices[:3] = None  # a tiny "(missing)" slice without an AUC
        report = slice_metrics(y, s, slices, threshold=0.5, column="view")
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert data["column"] == "view" and data["threshold"] == 0.5
        missing = data["rows"][-1]
        assert missing["value"] == MISSING and missing["auc"] is None
        assert set(data["gaps"]) == {"auc", "sensitivity", "specificity"}
        assert data["gaps"]["sensitivity"]["p_value"] is None
        assert isinstance(data["gaps"]["auc"]["flagged"], bool)

    def test_to_frame_has_readable_numeric_columns(self):
        y, s, slices = planted(11, n=40)
        frame = slice_metrics(y, s, slices, threshold=0.5).to_frame()
        assert frame["Slice"].tolist() == ["a", "b"]
        for column in ("N", "AUC", "AUC CI low", "Sensitivity", "Specificity CI high", "TP"):
            assert pd.api.types.is_numeric_dtype(frame[column]), column
        assert frame["N"].tolist() == [40, 40]

    def test_gaps_frame(self):
        y, s, slices = planted(11)
        gaps = slice_metrics(y, s, slices, threshold=0.5).gaps_frame()
        assert gaps["Metric"].tolist() == ["auc", "sensitivity", "specificity"]
        assert gaps["Flagged"].all()
