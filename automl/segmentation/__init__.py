"""Segmentation: captures -> fixed-size windows and their labels."""

from automl.segmentation._sliding import SlidingWindow, Windows, label_windows

__all__ = ["SlidingWindow", "Windows", "label_windows"]
