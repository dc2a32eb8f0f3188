"""Classification metrics in SensiML's confusion-matrix vocabulary."""

from automl.metrics._classification import classification_metrics

__all__ = ["classification_metrics"]
