"""Post-processing: what the device emits after the classifier.

Public API::

    PostProcessSpec(vote, refractory)              # majority vote over N windows, suppression time
    postprocess(decisions, emit_at, spec, background)   # per-window outputs of one stream
    NO_OUTPUT                                      # "nothing emitted" in the outputs (-2)

The C twin is ``firmware/runtime/kp_post.h``; the unknown-probability
threshold is part of the class decision (``automl.pipeline.decide``).
"""

from automl.postprocessing._postprocess import NO_OUTPUT, UNKNOWN, PostProcessSpec, postprocess, postprocess_windows

__all__ = ["NO_OUTPUT", "UNKNOWN", "PostProcessSpec", "postprocess", "postprocess_windows"]
