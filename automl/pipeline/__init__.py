"""A fitted pipeline: everything between int16 samples and a class id.

``FittedPipeline`` is the trial's ``pipeline.json`` as an object: segmenter,
selected feature generators, uint8 scaler, the ``.tflite`` model and the
unknown-class threshold. The search writes it, the report replays it on a
recording (timeline), and the exporter turns it into C and checks the C
against :meth:`FittedPipeline.run`.
"""

from automl.pipeline._fitted import FittedPipeline, PipelineRun, SegmenterSpec, decide, unknown_threshold_q

__all__ = ["FittedPipeline", "PipelineRun", "SegmenterSpec", "decide", "unknown_threshold_q"]
