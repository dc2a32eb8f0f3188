"""TFLite conversion (float32 or full-integer int8), interpreter evaluation, flatbuffer facts."""

from automl.quantization._info import FIRMWARE_OPERATORS, TensorInfo, TfliteInfo, check_converted, read_tflite_info
from automl.quantization._tflite import TFLiteModel, convert

__all__ = ["FIRMWARE_OPERATORS", "TFLiteModel", "TensorInfo", "TfliteInfo", "check_converted", "convert",
           "read_tflite_info"]
