"""Feature selection and scaling, fitted on the training fold only.

:class:`TreeSelector` keeps the ``k`` features an ExtraTrees forest ranks most
important, in decreasing importance (the model's input order);
:class:`MinMaxUint8Scaler` maps each kept feature from its training range to
0..255 with a float32 expression a C implementation reproduces bit for bit.
Both follow scikit-learn's ``fit`` / ``transform`` conventions and never see
the test split: the caller passes the training fold to ``fit``.
"""

from automl.selection._scaler import MinMaxUint8Scaler
from automl.selection._tree import TreeSelector

__all__ = ["MinMaxUint8Scaler", "TreeSelector"]
