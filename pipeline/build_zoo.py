"""Rebuild every shipped model: train each recipe, export it into the zoo, measure its trust
signals into its card (what ships is what this rebuilds). As candidates (``--candidate``,
into another folder) the same rebuild times the pipeline and checks that it reproduces the
zoo on validation, without looking at any test side."""

from __future__ import annotations

import time
from pathlib import Path

from training.recipe import all_recipes


def build_zoo(
    *,
    smoke: bool = False,
    only: list[str] | None = None,
    models_dir: Path = Path("zoo/models"),
    candidate: bool = False,
) -> list[Path]:
    """Train, export and measure each shipped recipe (``only`` some) into ``models_dir``;
    prints a table of the models with the minutes each took and the total. A
    ``candidate`` build scores validation only: no test side, no population sections
    (they read the test side's predictions)."""
    from export.package import export_run, headline_auc
    from export.population import add_population_sections
    from export.test_ledger import LEDGER
    from export.trust import add_trust
    from training.train import train

    recipes = [r for r in all_recipes(shipped_only=True) if not only or r.id in only]
    unknown = sorted(set(only or ()) - {r.id for r in recipes})
    if unknown:
        shipped = [r.id for r in all_recipes(shipped_only=True)]
        raise ValueError(f"no recipes {unknown}; shipped: {shipped}")
    if candidate:  # export would refuse them, but only after hours of training
        shipped = [r.id for r in recipes if (models_dir / r.id / LEDGER).exists()]
        if shipped:
            raise ValueError(
                f"{models_dir} holds shipped models ({', '.join(shipped)}): build candidates "
                "into another folder (--models)"
            )
    built, rows = [], []
    began = time.perf_counter()
    for number, recipe in enumerate(recipes, start=1):
        print(f"[{number}/{len(recipes)}] {recipe.id} (seed {recipe.seed})", flush=True)
        started = time.perf_counter()
        run_dir = train(recipe, smoke=smoke, verbose=2)
        variant = recipe.card.get("ship_variant", "float32")
        target = models_dir / run_dir.name
        card = export_run(run_dir, target, variant=variant, progress=print, ship=not candidate)
        card = add_trust(run_dir, target, progress=print)
        wanted = {"population_shift", "by_collection"} & set(recipe.card)
        if wanted and not smoke and not candidate:
            card = add_population_sections(target, recipe.card, progress=print)
        metrics = card["metrics"]
        rows.append(
            (
                card["id"],
                time.perf_counter() - started,
                headline_auc(metrics["validation"]),
                f"{headline_auc(metrics['test']):.3f}" if "test" in metrics else "not scored",
                card["file"]["bytes"],
                card["latency_ms"],
            )
        )
        built.append(target)
    print(
        "\n| model | minutes | validation AUC | test AUC | MB | ms/image |"
        "\n|---|---:|---:|---:|---:|---:|"
    )
    for model_id, seconds, auc, test_auc, size, latency in rows:
        print(
            f"| {model_id} | {seconds / 60:.1f} | {auc:.3f} | {test_auc} "
            f"| {size / 1e6:.1f} | {latency} |"
        )
    hours = (time.perf_counter() - began) / 3600
    print(f"\n{len(built)} model(s) built in {hours:.2f} hours, end to end", flush=True)
    return built
