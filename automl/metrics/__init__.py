"""Classification metrics (SensiML's confusion-matrix vocabulary) and event-level metrics."""

from automl.metrics._classification import classification_metrics
from automl.metrics._events import event_metrics, window_event_metrics

__all__ = ["classification_metrics", "event_metrics", "window_event_metrics"]
