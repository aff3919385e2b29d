"""The library of the book chapter "Hyperparameter Optimization".

``from d2l import torch as d2l`` gives the PyTorch library; the
framework-free parts live in :mod:`d2l.base` (plotting, hyperparameter
bookkeeping) and :mod:`d2l.hpo` (searchers, schedulers, tuner, rung
bookkeeping), which every framework module imports.
"""

__version__ = "0.1.0"
