"""Keras MLP classifiers built from a trial's configuration."""

from automl.model._mlp import MLPConfig, TrainResult, build_mlp, train_mlp

__all__ = ["MLPConfig", "TrainResult", "build_mlp", "train_mlp"]
