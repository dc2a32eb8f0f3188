"""Reading captures, label segments and metadata; schema checks; group-aware splits.

Public API::

    import_dataset(path, fmt="auto", **options)  # any format below; detect_format(path) says which
    load_dataset(path)               # labelled CSV folder or canonical folder
    read_labelled_csv_folder(path)   # one CSV per capture, a label on every row
    read_canonical(path)             # captures/*.csv + labels.csv (+ metadata.csv)
    read_per_file_labels(path, ...)  # one class per CSV: file-name regex or file,label CSV
    read_class_folders(path)         # one class per sub-folder
    read_dcli(file)                  # SensiML Data Capture Lab .dcli/.dai (end inclusive -> exclusive)
    read_label_studio(file(s))       # Label Studio time-series JSON exports (start <= t < end)
    load_basic_motions()             # UEA BasicMotions demo, bundled with sktime
    split_held_out(dataset, test_glob, test_where)   # (train, test) by name or metadata
    grouped_folds(dataset, n_splits, group_by=...)   # CV folds that never split a group
    auto_counts_scale(dataset); to_counts(dataset, scales)  # int16 ADC counts

Options every reader takes (``CaptureOptions``): ``channels`` (select /
rename), ``sensors`` (groups), ``time_column``, ``time_unit``,
``sample_rate_hz``, ``resample_hz``, ``name_metadata``, ``background``.

Bad input raises :class:`automl.errors.DataError` naming file, row and column
(for JSON: file, entry such as ``[0].sessions[1].segments[3]``, and field).
"""

from automl.data._captures import CaptureOptions
from automl.data._canonical import read_canonical
from automl.data._class_folders import read_class_folders
from automl.data._counts import auto_counts_scale, to_counts
from automl.data._dataset import Capture, Dataset, Segment
from automl.data._dcli import read_dcli
from automl.data._demo import load_basic_motions
from automl.data._import import (COMMON_OPTIONS, IMPORT_FORMATS, DataSource, detect_format, import_dataset,
                                 load_dataset, reader_options)
from automl.data._label_column import read_labelled_csv_folder
from automl.data._label_studio import read_label_studio
from automl.data._per_file import read_per_file_labels
from automl.data._sensors import SENSOR_PREFIXES, check_sensors, infer_sensors
from automl.data._split import capture_groups, grouped_folds, held_out_names, parse_where, split_held_out

__all__ = [
    "Segment",
    "Capture",
    "Dataset",
    "CaptureOptions",
    "DataSource",
    "COMMON_OPTIONS",
    "read_labelled_csv_folder",
    "read_canonical",
    "read_per_file_labels",
    "read_class_folders",
    "read_dcli",
    "read_label_studio",
    "load_dataset",
    "import_dataset",
    "detect_format",
    "reader_options",
    "IMPORT_FORMATS",
    "load_basic_motions",
    "SENSOR_PREFIXES",
    "infer_sensors",
    "check_sensors",
    "capture_groups",
    "grouped_folds",
    "held_out_names",
    "parse_where",
    "split_held_out",
    "auto_counts_scale",
    "to_counts",
]
