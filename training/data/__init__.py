"""Data for training: loaders, group-disjoint splits, and cached model inputs.

Plain numpy and pandas; nothing here imports TensorFlow.

>>> from training.data import load_shared_chest_xray, group_split, load_arrays
>>> data = load_shared_chest_xray("../shared/data", task="mass")      # doctest: +SKIP
>>> split = group_split(data, validation_fraction=0.2, seed=0)          # doctest: +SKIP
>>> x = load_arrays(data, card["preprocessing"], cache_dir=".cache")  # doctest: +SKIP
"""

from training.data.cache import cache_key, file_sha1, load_arrays, preprocess_file
from training.data.dataset import LabelledSet
from training.data.errors import DataError
from training.data.loaders import (
    IMAGE_SUFFIXES,
    findings_labels,
    load_chest_pretraining,
    load_class_folders,
    load_csv,
    load_dicom_folder,
    load_multiclass_cxr,
    load_nih_boxes,
    load_nih_data_entry,
    load_shared_brain_mri,
    load_shared_chest_xray,
    load_shared_lung_ct,
    load_shared_pediatric_cxr,
    load_shared_tb_xray,
    load_split_folders,
    nih_data_entry,
    shared_data_root,
    split_findings,
)
from training.data.splits import (
    Split,
    assign_groups,
    group_kfold,
    group_split,
    load_split,
    save_split,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "DataError",
    "LabelledSet",
    "Split",
    "assign_groups",
    "cache_key",
    "file_sha1",
    "findings_labels",
    "group_kfold",
    "group_split",
    "load_arrays",
    "load_chest_pretraining",
    "load_class_folders",
    "load_csv",
    "load_dicom_folder",
    "load_multiclass_cxr",
    "load_nih_boxes",
    "load_nih_data_entry",
    "load_shared_brain_mri",
    "load_shared_chest_xray",
    "load_shared_lung_ct",
    "load_shared_pediatric_cxr",
    "load_shared_tb_xray",
    "load_split",
    "load_split_folders",
    "nih_data_entry",
    "preprocess_file",
    "save_split",
    "shared_data_root",
    "split_findings",
]
