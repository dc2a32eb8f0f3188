"""TFLite conversion (float32 or full-integer int8) and interpreter evaluation."""

from automl.quantization._tflite import TFLiteModel, convert

__all__ = ["TFLiteModel", "convert"]
