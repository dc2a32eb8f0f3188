"""Window-level classification metrics and device event metrics."""

from automl.metrics._classification import classification_metrics
from automl.metrics._events import (device_event_metrics, event_matches, window_device_metrics,
                                    window_device_metrics_by_capture)

__all__ = ["classification_metrics", "device_event_metrics", "event_matches", "window_device_metrics",
           "window_device_metrics_by_capture"]
