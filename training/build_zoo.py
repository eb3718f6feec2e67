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

    built = []
    for recipe in all_recipes():
        if only and recipe.id not in only:
            continue
        started = time.perf_counter()
        run_dir = train(recipe, smoke=smoke, verbose=2)
        variant = recipe.card.get("ship_variant", "float32")
        target = models_dir / (run_dir.name)
        export_run(run_dir, target, variant=variant)
        print(f"{recipe.id}: {time.perf_counter() - started:.0f} s → {target}")
        built.append(target)
    return built
