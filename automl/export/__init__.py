"""Export one trial as C99 sources for a Cortex-M microcontroller.

:func:`export_trial` reads a finished trial's ``model.tflite`` and
``pipeline.json`` from the study folder (``docs/CONTRACTS.md``) and writes a
firmware folder from the templates in the repository's ``firmware/``:

- ``model_data.h`` / ``model_data.c``: the flatbuffer as a 16-byte aligned
  ``const unsigned char <prefix>_model_tflite[]`` and its length;
- ``pipeline.h`` / ``pipeline.c``: sample rate, windowing, channel, feature,
  scaler, quantisation and class constants;
- ``example_main.c``, ``Makefile`` (host and Cortex-M4 builds), ``README.md``
  and the export marker ``tinyml-automl-export.txt``.

The exporter only formats numbers; it never changes them. Text from user data
is escaped by :mod:`automl.export._cgen` before it reaches a generated file.
"""

from ._export import MANIFEST_NAME, ExportResult, export_trial, firmware_dir, write_firmware

__all__ = ["MANIFEST_NAME", "ExportResult", "export_trial", "firmware_dir", "write_firmware"]
