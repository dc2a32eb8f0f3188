"""Export one trial as a C99 knowledge pack for a Cortex-M microcontroller.

:func:`export_trial` reads a finished trial's ``model.tflite`` and
``pipeline.json`` from the study folder (``docs/CONTRACTS.md``) and writes a
self-contained C library (``docs/FIRMWARE.md``): ``kp.h`` with
``kp_add_sample`` / ``kp_reset`` / ``kp_model_info`` and the class table,
``kp.c`` with the trial's segmenter, its *selected* features only, the uint8
scaler and the class decision, ``kp_model.h/.c`` with the MLP, the
header-only runtime from ``firmware/runtime``, the ``.tflite`` as an aligned
array, a streaming program (``kp_stream.c``), QEMU start-up files, a
``Makefile`` (host, Cortex-M4, QEMU) and ``sizes.json`` (library size and
instructions per sample, measured with ``arm-none-eabi-gcc`` and QEMU).
:func:`run_stream` builds and runs an export's ``kp_stream`` on a recording
written by :func:`write_counts`, and :func:`parse_stream` reads its output.

The exporter only formats numbers; it never changes them: the C computes the
same windows, features, scaler outputs, logits and classes as
:meth:`automl.pipeline.FittedPipeline.run`. Text from user data is escaped by
:mod:`automl.export._cgen` before it reaches a generated file.
"""

from ._export import MANIFEST_NAME, SIZES_NAME, ExportResult, export_trial, firmware_dir, write_firmware
from ._stream import COUNTS_MARK, StreamRun, device_ids, output_indices, parse_stream, run_stream, write_counts

__all__ = ["COUNTS_MARK", "MANIFEST_NAME", "SIZES_NAME", "ExportResult", "StreamRun", "device_ids", "export_trial",
           "firmware_dir", "output_indices", "parse_stream", "run_stream", "write_counts", "write_firmware"]
