import threading

import numpy as np
import pytest

from zoo.errors import ModelIntegrityError, ModelNotFoundError
from zoo.imaging.scan import Scan
from zoo.preprocess import preprocess
from zoo.registry import Registry
from zoo.runtime import cached_session_count, get_session, predict
from zoo.runtime.providers import available_cpus, select_providers


def scan(value: float, shape=(40, 60)) -> Scan:
    return Scan(
        pixels=np.full(shape, value, dtype=np.float32),
        modality="CR",
        photometric="MONOCHROME2",
        source_format="png",
    )


def expected_binary(value: float, content_fraction: float) -> float:
    # linear CAM fixture: logit = mean over the input of (8 * x - 4); padding is 0
    logit = 8.0 * value * content_fraction - 4.0
    return 1 / (1 + np.exp(-logit))


class TestPredict:
    def test_binary_probabilities_follow_the_model(self, zoo_dir):
        registry = Registry(zoo_dir)
        dark, bright = predict("binary-test", [scan(0.1), scan(0.9)], registry=registry)
        # a 40x60 scan letterboxed into 32x32 fills 21 of 32 rows
        fraction = 21 / 32
        assert bright.probabilities["abnormal"] == pytest.approx(
            expected_binary(0.9, fraction), abs=1e-5
        )
        assert dark.probabilities["normal"] == pytest.approx(
            1 - expected_binary(0.1, fraction), abs=1e-5
        )
        assert bright.score == bright.probabilities["abnormal"]
        assert bright.threshold == 0.5

    def test_threshold_decides_binary_label(self, zoo_dir):
        registry = Registry(zoo_dir)
        (p,) = predict("binary-test", [scan(0.9)], registry=registry)
        assert p.label == ("abnormal" if p.score >= 0.5 else "normal")
        (strict,) = predict("binary-test", [scan(0.9)], registry=registry, threshold=0.999)
        assert strict.label == "normal" and strict.threshold == 0.999

    def test_multiclass_and_extra_outputs(self, zoo_dir):
        (p,) = predict("multi-test", [scan(0.95, (32, 32))], registry=Registry(zoo_dir))
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert p.label == "tuberculosis" and p.threshold is None
        assert p.cam.shape == (32, 32, 3)
        assert p.embedding.shape == (3,)
        assert p.embedding == pytest.approx(0.95, abs=1e-3)

    def test_batches_match_single_runs(self, zoo_dir):
        registry = Registry(zoo_dir)
        scans = [scan(v) for v in np.linspace(0, 1, 7)]
        batched = predict("binary-test", scans, registry=registry, batch_size=3)
        single = [predict("binary-test", [s], registry=registry)[0] for s in scans]
        assert [p.score for p in batched] == pytest.approx([p.score for p in single], abs=1e-6)

    def test_keep_preprocessed(self, zoo_dir):
        (p,) = predict(
            "binary-test", [scan(0.5)], registry=Registry(zoo_dir), keep_preprocessed=True
        )
        assert p.preprocessed.display.shape == (32, 32)

    def test_unknown_model(self, zoo_dir):
        with pytest.raises(ModelNotFoundError, match="available"):
            predict("nope", [scan(0.5)], registry=Registry(zoo_dir))


class TestIntegrity:
    def test_sha_mismatch_refuses_only_that_model(self, zoo_dir):
        model = zoo_dir / "binary-test" / "model.onnx"
        data = bytearray(model.read_bytes())
        data[-1] ^= 0xFF
        model.write_bytes(bytes(data))
        registry = Registry(zoo_dir)
        with pytest.raises(ModelIntegrityError, match="SHA-256"):
            predict("binary-test", [scan(0.5)], registry=registry)
        assert predict("multi-test", [scan(0.5)], registry=registry)

    def test_file_changed_while_cached_is_rechecked(self, zoo_dir):
        registry = Registry(zoo_dir)
        predict("binary-test", [scan(0.5)], registry=registry)
        model = zoo_dir / "binary-test" / "model.onnx"
        model.write_bytes(b"garbage" * 10)
        with pytest.raises(ModelIntegrityError, match="SHA-256"):
            predict("binary-test", [scan(0.5)], registry=registry)

    def test_missing_file(self, zoo_dir):
        (zoo_dir / "binary-test" / "model.onnx").unlink()
        with pytest.raises(ModelIntegrityError, match="missing"):
            predict("binary-test", [scan(0.5)], registry=Registry(zoo_dir))

    def test_output_named_in_card_must_exist(self, zoo_dir):
        import json

        card_path = zoo_dir / "binary-test" / "card.json"
        card = json.loads(card_path.read_text())
        card["outputs"]["cam"] = "heatmap"
        card_path.write_text(json.dumps(card))
        with pytest.raises(ModelIntegrityError, match="heatmap"):
            predict("binary-test", [scan(0.5)], registry=Registry(zoo_dir))


class TestSessions:
    def test_one_session_shared_across_threads(self, zoo_dir):
        registry = Registry(zoo_dir)
        entry = registry.get("binary-test")
        sessions, scores = [], []

        def work() -> None:
            sessions.append(get_session(entry))
            scores.append(predict("binary-test", [scan(0.7)], registry=registry)[0].score)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(s) for s in sessions}) == 1 and cached_session_count() == 1
        assert max(scores) - min(scores) < 1e-7

    def test_model_runs_take_turns(self, zoo_dir, monkeypatch):
        # each run already uses every core; two at once would only add buffers to memory
        import zoo.runtime.session as session_module

        entry = Registry(zoo_dir).get("binary-test")
        session = get_session(entry)
        batch = preprocess(scan(0.5), entry.card.preprocessing).input
        inside, most = 0, 0
        guard = threading.Lock()
        real_run = session.session.run

        class Counting:
            def run(self, *args, **kwargs):
                nonlocal inside, most
                with guard:
                    inside += 1
                    most = max(most, inside)
                threading.Event().wait(0.02)  # long enough for the others to arrive
                with guard:
                    inside -= 1
                return real_run(*args, **kwargs)

        monkeypatch.setattr(session, "session", Counting())
        threads = [threading.Thread(target=session.run, args=(batch,)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert most == session_module.MAX_CONCURRENT_RUNS == 1

    def test_threads_respect_available_cpus(self, zoo_dir):
        session = get_session(Registry(zoo_dir).get("binary-test"))
        assert session.session.get_session_options().intra_op_num_threads == available_cpus()
        assert session.providers[-1] == "CPUExecutionProvider"


class TestProviders:
    def test_cpu_always_last(self):
        assert select_providers()[-1] == "CPUExecutionProvider"

    def test_env_override(self, monkeypatch):
        monkeypatch.setenv("MEDZOO_PROVIDERS", "cpu")
        assert select_providers() == ["CPUExecutionProvider"]

    def test_env_override_unknown(self, monkeypatch):
        monkeypatch.setenv("MEDZOO_PROVIDERS", "tpu")
        with pytest.raises(ValueError, match="unknown backends"):
            select_providers()

    def test_cpus_positive(self):
        assert available_cpus() >= 1


class TestTrustAtServing:
    """Calibration, test-time views and the out-of-distribution score, from the card."""

    def test_calibration_in_the_card_is_applied_and_raw_outputs_kept(self, tmp_path, model_writer):
        model_writer(tmp_path, "plain")
        model_writer(
            tmp_path,
            "calibrated",
            card_overrides={"calibration": {"method": "temperature", "params": {"temperature": 2}}},
        )
        registry = Registry(tmp_path)
        (plain,) = predict("plain", [scan(0.9)], registry=registry)
        (cal,) = predict("calibrated", [scan(0.9)], registry=registry)
        raw = plain.probabilities["abnormal"]
        assert cal.raw_probabilities["abnormal"] == pytest.approx(raw)
        # temperature 2 halves the logit: the calibrated probability moves towards 0.5
        expected = 1 / (1 + np.exp(-np.log(raw / (1 - raw)) / 2))
        assert cal.probabilities["abnormal"] == pytest.approx(expected, abs=1e-6)
        assert cal.probabilities["normal"] == pytest.approx(1 - expected, abs=1e-6)

    def test_validation_predictions_are_served_calibrated_too(self, tmp_path, model_writer):
        model_writer(
            tmp_path,
            "calibrated",
            labels=("a", "b", "c"),
            sigmoid=False,
            card_overrides={"calibration": {"method": "temperature", "params": {"temperature": 3}}},
        )
        vp = Registry(tmp_path).validation_predictions("calibrated")
        assert vp.raw_probabilities is not None
        assert not np.allclose(vp.probabilities, vp.raw_probabilities)
        np.testing.assert_allclose(vp.probabilities.sum(axis=1), 1.0)
        # temperature scaling never changes the most probable label
        assert (vp.probabilities.argmax(1) == vp.raw_probabilities.argmax(1)).all()

    def test_tta_gives_an_interval_around_the_prediction(self, zoo_dir):
        registry = Registry(zoo_dir)
        rng = np.random.default_rng(0)
        textured = Scan(
            pixels=rng.random((40, 60)).astype(np.float32),
            modality="CR",
            photometric="MONOCHROME2",
            source_format="png",
        )
        (plain,) = predict("binary-test", [textured], registry=registry)
        (with_views,) = predict("binary-test", [textured], registry=registry, tta=True)
        assert plain.uncertainty is None
        spread = with_views.uncertainty
        assert spread.per_view.shape == (8, 2)
        # the identity view is the prediction itself
        assert with_views.probabilities["abnormal"] == pytest.approx(
            plain.probabilities["abnormal"], abs=1e-6
        )
        for label in ("normal", "abnormal"):
            assert spread.low[label] <= spread.mean[label] <= spread.high[label]
        assert spread.width("abnormal") > 0  # shifts and contrast move a linear model

    def test_no_ood_section_means_no_ood_score(self, zoo_dir):
        (p,) = predict("binary-test", [scan(0.5)], registry=Registry(zoo_dir))
        assert p.ood is None


class TestCardTrustSections:
    def test_multiclass_cards_refuse_binary_only_calibration(self, tmp_path, model_writer):
        from zoo.errors import CardError
        from zoo.registry import read_card

        folder = model_writer(
            tmp_path,
            "m",
            labels=("a", "b", "c"),
            sigmoid=False,
            card_overrides={"calibration": {"method": "platt", "params": {"a": 1, "b": 0}}},
        )
        with pytest.raises(CardError, match="binary"):
            read_card(folder / "card.json")
        assert "m" in Registry(tmp_path).problems
