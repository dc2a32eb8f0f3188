"""Reading captures, label segments and metadata; schema checks; group-aware splits.

Public API::

    import_dataset(path, fmt="auto") # any format below; detect_format(path) says which
    load_dataset(path)               # labelled CSV folder or canonical folder
    read_labelled_csv_folder(path)   # one CSV per capture, a label on every row
    read_canonical(path)             # captures/*.csv + labels.csv (+ metadata.csv)
    read_dcli(file)                  # SensiML Data Capture Lab .dcli/.dai (end inclusive -> exclusive)
    read_label_studio(file)          # Label Studio time-series JSON export (start <= t < end)
    read_per_file_labels(path, ...)  # one class per CSV: file-name regex or file,label CSV
    load_basic_motions()             # UEA BasicMotions demo, bundled with sktime
    read_source(study data_source)   # basic-motions or a path: the data a study was searched on
    grouped_folds(dataset, n_splits) # CV folds that never split a capture

Bad input raises :class:`automl.errors.DataError` naming file, row and column
(for JSON: file, entry such as ``[0].sessions[1].segments[3]``, and field).
"""

from automl.data._counts import auto_counts_scale, to_counts
from automl.data._dataset import Capture, Dataset, Segment
from automl.data._dcli import read_dcli
from automl.data._demo import load_basic_motions
from automl.data._import import IMPORT_FORMATS, detect_format, import_dataset, read_source
from automl.data._label_studio import read_label_studio
from automl.data._per_file import read_per_file_labels
from automl.data._readers import load_dataset, read_canonical, read_labelled_csv_folder
from automl.data._split import grouped_folds

__all__ = [
    "Segment",
    "Capture",
    "Dataset",
    "read_labelled_csv_folder",
    "read_canonical",
    "load_dataset",
    "import_dataset",
    "read_source",
    "detect_format",
    "IMPORT_FORMATS",
    "read_dcli",
    "read_label_studio",
    "read_per_file_labels",
    "load_basic_motions",
    "grouped_folds",
    "auto_counts_scale",
    "to_counts",
]
