"""What the trust signals cost per analysis: heatmap + out-of-distribution score + TTA.

Run ``python -m benchmarks.trust_bench`` from the repository root; it prints a Markdown
table. For each shipped model, on the sample scan of its own kind, one image at a time,
after a warm-up: ``--repeats`` rounds, each timing the three below back to back, so a VM
that speeds up or slows down during the run moves all three columns alike. Columns are
medians over rounds; "added" is the median of each round's difference (TTA − bare):

- **bare**: preprocessing and an ONNX Runtime run asking only for the probabilities, i.e.
  an analysis with no trust signal at all;
- **+ heatmap + OOD**: ``zoo.runtime.predict`` (every output, calibration, the
  out-of-distribution score) plus laying the heatmap over the scan (``ui.heatmap.overlay``);
- **+ TTA**: the same with ``tta=True`` (the card's 8 test-time views, one batch).

Targets (issue #6): heatmap + OOD + TTA add at most 250 ms to a MobileNet analysis and
500 ms to InceptionV3 (int8).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from benchmarks.zoo_models import SAMPLE_FOR, SAMPLES
from ui.heatmap import cam_channel, overlay
from zoo.imaging import load_scan
from zoo.preprocess import preprocess
from zoo.registry import Registry
from zoo.runtime import predict
from zoo.runtime.providers import available_cpus
from zoo.runtime.session import get_session

TARGET_MS = {"mobilenetv3-synthetic": 250.0, "customcnn-cxr-mass": 500.0}


def interleaved_ms(runs: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Milliseconds of each run in each of ``repeats`` rounds, after a warm-up round."""
    for run in runs:
        run()
    rounds = []
    for _ in range(repeats):
        times = []
        for run in runs:
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        rounds.append(times)
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    registry = Registry()
    rows = []
    for entry in registry.entries():
        card = entry.card
        scan = load_scan(SAMPLES / SAMPLE_FOR.get(card.id, "cxr_nih_mass.jpg"))
        session = get_session(entry)

        def bare(card=card, session=session, scan=scan) -> object:
            batch = preprocess(scan, card.preprocessing).input
            return session.session.run([card.outputs.probabilities], {session.input_name: batch})

        def signals(model_id=card.id, card=card, scan=scan, tta=False) -> object:
            (prediction,) = predict(
                model_id, [scan], registry=registry, keep_preprocessed=True, tta=tta
            )
            cam = cam_channel(prediction, prediction.label)
            return overlay(scan.pixels, cam, prediction.preprocessed, card.preprocessing.input_size)

        rounds = interleaved_ms([bare, signals, lambda s=signals: s(tta=True)], args.repeats)
        base, with_signals, with_tta = (statistics.median(col) for col in zip(*rounds, strict=True))
        added = statistics.median(tta_ms - bare_ms for bare_ms, _, tta_ms in rounds)
        target = TARGET_MS.get(card.id)
        rows.append(
            f"| {card.id} | {base:.1f} | {with_signals:.1f} | {with_tta:.1f} | "
            f"{added:.1f} | {with_tta / base:.1f}× | "
            + (f"≤ {target:.0f}: {'met' if added <= target else 'MISSED'}" if target else "—")
            + " |"
        )
    print(
        f"Trust-signal cost per analysis, medians of {args.repeats} interleaved rounds, "
        f"{available_cpus()} CPU(s) available\n"
    )
    print(
        "| model | bare (ms) | + heatmap + OOD (ms) | + TTA, 8 views (ms) | added (ms) "
        "| ratio | target |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
