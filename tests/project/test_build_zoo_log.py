"""benchmarks.build_zoo_log: build-zoo's printed table and total, and nothing else."""

import pytest

from benchmarks.build_zoo_log import read_log

LOG = """[1/2] customcnn-cxr-mass (seed 7)
15/15 - 12s - 773ms/step - accuracy: 0.6687 - auc: 0.7602
| customcnn-lung-ct | 0.5 | 0.500 | nan | 0.2 | 0.27 |

| model | minutes | validation AUC | test AUC | MB | ms/image |
|---|---:|---:|---:|---:|---:|
| customcnn-cxr-mass | 31.2 | 0.721 | not scored | 3.2 | 8.9 |
| multiclass-brain-mri | 28.0 | 0.981 | not scored | 3.2 | 9.1 |

2 model(s) built in 0.99 hours, end to end
"""


def test_the_table_and_the_total_are_read():
    payload = read_log(LOG.replace("| customcnn-lung-ct | 0.5 | 0.500 | nan | 0.2 | 0.27 |\n", ""))
    assert payload == {
        "models": 2,
        "hours": 0.99,
        "rows": [
            {"model": "customcnn-cxr-mass", "minutes": 31.2, "validation_auc": 0.721},
            {"model": "multiclass-brain-mri", "minutes": 28.0, "validation_auc": 0.981},
        ],
    }


def test_a_log_of_a_build_that_did_not_finish_is_refused():
    with pytest.raises(ValueError, match="no finished build-zoo"):
        read_log(LOG.split("\n\n2 model(s)")[0])
