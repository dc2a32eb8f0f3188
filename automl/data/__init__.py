"""Reading captures, label segments and metadata; schema checks; group-aware splits.

Public API::

    load_dataset(path)               # picks the format below
    read_labelled_csv_folder(path)   # one CSV per capture, a label on every row
    read_canonical(path)             # captures/*.csv + labels.csv (+ metadata.csv)
    load_basic_motions()             # UEA BasicMotions demo, bundled with sktime
    grouped_folds(dataset, n_splits) # CV folds that never split a capture

Bad input raises :class:`automl.errors.DataError` naming file, row and column.
"""

from automl.data._counts import auto_counts_scale, to_counts
from automl.data._dataset import Capture, Dataset, Segment
from automl.data._demo import load_basic_motions
from automl.data._readers import load_dataset, read_canonical, read_labelled_csv_folder
from automl.data._split import grouped_folds

__all__ = [
    "Segment",
    "Capture",
    "Dataset",
    "read_labelled_csv_folder",
    "read_canonical",
    "load_dataset",
    "load_basic_motions",
    "grouped_folds",
    "auto_counts_scale",
    "to_counts",
]
