"""Score whole archives: every file of a folder, a manifest or a URI through one or more
models, into a Parquet dataset with one row per (file, model).

- :mod:`zoo.scoring.inputs`: what to score (folder, CSV/Parquet manifest, fsspec URI).
- :mod:`zoo.scoring.rows`: the rows of a batch of files, through ``zoo.runtime.predict``
  (the numbers ``python -m zoo predict`` gives).
- :mod:`zoo.scoring.results`: the output dataset: what it already holds (a rerun scores
  only what it lacks), parts written whole, read back with one schema.
- :mod:`zoo.scoring.engines`: the local engine (this process) and the Ray Data engine.
- :mod:`zoo.scoring.evaluate`: the Batch page's statistics from a results file.
"""
