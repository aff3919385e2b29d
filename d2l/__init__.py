"""The library of the book chapter "Hyperparameter Optimization".

``from d2l import torch as d2l`` gives the PyTorch library. Written by
hand: :mod:`d2l.base` (plotting, hyperparameter bookkeeping),
:mod:`d2l.profiles` (hardware profiles), :mod:`d2l.exercises` (the
exercises' self-checks), :mod:`d2l.fashion_mnist` and one module per
framework (:mod:`d2l.torch`, ...). Generated from the chapter by
``make lib``: :mod:`d2l.hpo` (searchers, schedulers, tuner, simulator),
which every framework module imports, and one module per framework with the
chapter's framework code (:mod:`d2l.torch_hpo`, ...).
"""

__version__ = "0.1.0"
