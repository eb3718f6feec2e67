"""Rebuild every shipped model: train each recipe, export it into the zoo, measure its trust
signals into its card (what ships is what this rebuilds)."""

from __future__ import annotations

import time
from pathlib import Path

from training.recipe import all_recipes


def build_zoo(
    *, smoke: bool = False, only: list[str] | None = None, models_dir: Path = Path("zoo/models")
) -> list[Path]:
    from export.package import export_run, headline_auc
    from export.population import add_population_sections
    from export.trust import add_trust
    from training.train import train

    recipes = [r for r in all_recipes(shipped_only=True) if not only or r.id in only]
    unknown = sorted(set(only or ()) - {r.id for r in recipes})
    if unknown:
        shipped = [r.id for r in all_recipes(shipped_only=True)]
        raise ValueError(f"no recipes {unknown}; shipped: {shipped}")
    built, rows = [], []
    for number, recipe in enumerate(recipes, start=1):
        print(f"[{number}/{len(recipes)}] {recipe.id} (seed {recipe.seed})", flush=True)
        started = time.perf_counter()
        run_dir = train(recipe, smoke=smoke, verbose=2)
        variant = recipe.card.get("ship_variant", "float32")
        target = models_dir / run_dir.name
        card = export_run(run_dir, target, variant=variant, progress=print)["card"]
        card = add_trust(run_dir, target, progress=print)
        if not smoke and {"population_shift", "by_collection"} & set(recipe.card):
            card = add_population_sections(target, recipe.card, progress=print)
        metrics = card["metrics"]
        rows.append(
            (
                card["id"],
                time.perf_counter() - started,
                headline_auc(metrics["validation"]),
                headline_auc(metrics["test"]) if "test" in metrics else float("nan"),
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
            f"| {model_id} | {seconds / 60:.1f} | {auc:.3f} | {test_auc:.3f} "
            f"| {size / 1e6:.1f} | {latency} |"
        )
    return built
