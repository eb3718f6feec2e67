"""Rebuild every shipped model: train each recipe, then export it into the zoo."""

from __future__ import annotations

import time
from pathlib import Path

from training.recipe import all_recipes


def build_zoo(
    *, smoke: bool = False, only: list[str] | None = None, models_dir: Path = Path("zoo/models")
) -> list[Path]:
    from export.package import export_run
    from training.train import train

    recipes = [r for r in all_recipes() if not only or r.id in only]
    unknown = sorted(set(only or ()) - {r.id for r in recipes})
    if unknown:
        raise ValueError(f"no recipes {unknown}; shipped: {[r.id for r in all_recipes()]}")
    built, rows = [], []
    for number, recipe in enumerate(recipes, start=1):
        print(f"[{number}/{len(recipes)}] {recipe.id} (seed {recipe.seed})", flush=True)
        started = time.perf_counter()
        run_dir = train(recipe, smoke=smoke, verbose=2)
        variant = recipe.card.get("ship_variant", "float32")
        target = models_dir / run_dir.name
        card = export_run(run_dir, target, variant=variant, progress=print)["card"]
        validation = card["metrics"]["validation"]
        auc = validation["auc"]["value"] if "auc" in validation else validation["macro_auc"]
        rows.append(
            (
                card["id"],
                time.perf_counter() - started,
                auc,
                card["file"]["bytes"],
                card["latency_ms"],
            )
        )
        built.append(target)
    print("\n| model | minutes | validation AUC | MB | ms/image |\n|---|---:|---:|---:|---:|")
    for model_id, seconds, auc, size, latency in rows:
        print(f"| {model_id} | {seconds / 60:.1f} | {auc:.3f} | {size / 1e6:.1f} | {latency} |")
    return built
