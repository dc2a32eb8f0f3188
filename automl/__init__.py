"""tinyml-automl: AutoML search for IMU models that must fit on a Cortex-M4.

The pipeline stages live in one sub-package each and import only "down" the
pipeline: ``data`` -> ``segmentation`` -> ``features`` -> ``selection`` ->
``model`` / ``quantization`` -> ``metrics`` / ``cost`` -> ``search`` ->
``report`` / ``export``; ``cli`` calls everything and nothing imports it.
"""

__version__ = "0.1.0"

import os as _os

# Silence TensorFlow's C++ start-up chatter before anything imports it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
