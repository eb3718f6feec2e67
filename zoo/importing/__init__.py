"""Import of outside models: safety checks, reading the graph, a card, an evaluation.

See :mod:`zoo.importing.importer` (the steps) and ``python -m zoo import --help``.
"""

from zoo.importing.evaluation import LabelledItem, evaluate_import
from zoo.importing.importer import ImportRequest, PreparedModel, install, prepare_import
from zoo.importing.safety import Limits, load_untrusted

__all__ = [
    "ImportRequest",
    "LabelledItem",
    "Limits",
    "PreparedModel",
    "evaluate_import",
    "install",
    "load_untrusted",
    "prepare_import",
]
