"""Trust signals served with every prediction: calibration, out-of-distribution scores,
test-time-augmentation uncertainty, localization against boxes and subgroup analysis.

Pure NumPy/SciPy (no TensorFlow): the pages and the export step both import these.
"""
