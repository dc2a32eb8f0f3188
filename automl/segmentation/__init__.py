"""Segmentation: captures -> fixed-size windows and their labels.

Public API::

    SlidingWindow(window_size, slide)            # a window every `slide` samples
    ThresholdWindow(window_size, column, threshold, mode, detection_window, lookback, slide)
                                                 # a window per trigger event
    label_windows(starts, window_size, segments, classes)
    detection_signal(data, channels, column, mode, detection_window)
    threshold_from_quantile(dataset, column, mode, detection_window, q)
    trigger_diagnostics(dataset, windows)        # missed events, false triggers

The streaming C twin of both segmenters is ``firmware/runtime/kp_segment.h``.
"""

from automl.segmentation._detection import MODES, column_signal, column_sources, detection_signal, threshold_from_quantile
from automl.segmentation._diagnostics import TriggerDiagnostics, trigger_diagnostics
from automl.segmentation._sliding import SlidingWindow, Windows, label_windows
from automl.segmentation._threshold import ThresholdWindow, select_triggers

__all__ = [
    "SlidingWindow",
    "ThresholdWindow",
    "Windows",
    "label_windows",
    "MODES",
    "column_sources",
    "column_signal",
    "detection_signal",
    "threshold_from_quantile",
    "select_triggers",
    "TriggerDiagnostics",
    "trigger_diagnostics",
]
