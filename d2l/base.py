"""Framework-free helpers of the book: attaching methods to classes after
the fact, storing constructor arguments as attributes, and plotting
(static plots and live training curves).

Nothing here imports a deep learning framework, so every framework module
(:mod:`d2l.torch`, ...) and :mod:`d2l.hpo` can start with
``from d2l.base import *``.  Nor does importing it import matplotlib:
``d2l.plt`` and ``d2l.matplotlib`` import it when they are first used.
"""
import importlib
import inspect
import sys
import types


class ImportedOnFirstUse(types.ModuleType):
    """Stands for the module `name` and imports it (and the modules in
    `imports`, first) when one of its attributes is first read.

    matplotlib.pyplot costs 0.3-0.7 s to import on the machine that builds
    the book; every Syne Tune trial process paid it before its first epoch,
    although trials plot nothing."""

    def __init__(self, name, imports=()):
        super().__init__(name)
        self._imports = tuple(imports) + (name,)

    def _module(self):
        for name in self._imports:
            importlib.import_module(name)
        return sys.modules[self.__name__]

    def __getattr__(self, attr):  # only for attributes not found otherwise
        return getattr(self._module(), attr)

    def __dir__(self):
        return dir(self._module())

    def __repr__(self):
        return f'<module {self.__name__!r}, imported on first use>'


plt = ImportedOnFirstUse('matplotlib.pyplot')
# As before, `d2l.matplotlib.patches` and its other submodules are loaded.
matplotlib = ImportedOnFirstUse('matplotlib', imports=['matplotlib.pyplot'])

__all__ = ['add_to_class', 'HyperParameters', 'use_svg_display',
           'set_figsize', 'set_axes', 'plot', 'ProgressBoard',
           'PlotsTrainingCurves', 'ModuleSkeleton', 'ClassifierSkeleton',
           'DataModule',
           'TrainerSkeleton',
           'inspect', 'matplotlib', 'plt']


def add_to_class(Class):
    """Decorator that installs the decorated function as a method of
    `Class`, so that a class can be written over several notebook cells.

    >>> class A: pass
    >>> @add_to_class(A)
    ... def twice(self, x): return 2 * x
    >>> A().twice(3)
    6
    """
    def register(method):
        setattr(Class, method.__name__, method)
        return method
    return register


class HyperParameters:
    """Mixin whose :meth:`save_hyperparameters` turns the arguments of the
    calling ``__init__`` into attributes of the same names."""

    def save_hyperparameters(self, ignore=[]):
        """Store every argument of the calling function (except ``self``
        and the names in `ignore`) as an attribute, and all of them
        together in the dict ``self.hparams``.

        Only the caller's declared parameters are stored (positional and
        keyword-only ones, plus a ``**kwargs`` dict if there is one), not
        other local variables it may have created before the call.
        """
        caller = inspect.currentframe().f_back
        try:
            code = caller.f_code
            n_args = code.co_argcount + code.co_kwonlyargcount
            names = list(code.co_varnames[:n_args])
            if code.co_flags & inspect.CO_VARKEYWORDS:
                has_varargs = bool(code.co_flags & inspect.CO_VARARGS)
                names.append(code.co_varnames[n_args + has_varargs])
            values = caller.f_locals
            skip = set(ignore) | {'self'}
            self.hparams = {name: values[name] for name in names
                            if name not in skip and name in values
                            and not name.startswith('_')}
        finally:
            del caller  # frames in local variables create reference cycles
        for name, value in self.hparams.items():
            setattr(self, name, value)


def use_svg_display():
    """Show matplotlib figures as SVG in Jupyter; does nothing elsewhere."""
    try:
        from matplotlib_inline import backend_inline
        backend_inline.set_matplotlib_formats('svg')
    except Exception:  # not in IPython, or matplotlib_inline is missing
        pass


def set_figsize(figsize=(3.5, 2.5)):
    """Set the default size (inches) of the figures that follow."""
    use_svg_display()
    plt.rcParams['figure.figsize'] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Apply labels, limits, scales and a legend to matplotlib `axes`."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    if xlim is not None:
        axes.set_xlim(xlim)
    if ylim is not None:
        axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _is_one_series(values):
    """True if `values` is a single 1-D sequence of numbers (a list of
    numbers, a 1-D array or tensor), False for a list of sequences."""
    if hasattr(values, 'ndim'):
        return values.ndim == 1
    return isinstance(values, (list, tuple)) and (
        len(values) == 0 or not hasattr(values[0], '__len__'))


def plot(X, Y=None, xlabel=None, ylabel=None, legend=[], xlim=None,
         ylim=None, xscale='linear', yscale='linear',
         fmts=('-', 'm--', 'g-.', 'r:', 'c-', 'y--', 'k-.', 'b:'),
         figsize=(3.5, 2.5), axes=None):
    """Plot one or several curves (into `axes`, else the current axes).

    `X` and `Y` are each one series (list, 1-D array or tensor) or a list
    of series.  With ``Y=None``, `X` holds the y-values and the x-values
    are 0, 1, 2, ...  One x series may serve several y series.
    """
    if legend is None:
        legend = []
    if Y is None:
        X, Y = [], X
    if _is_one_series(X):
        X = [X]
    if _is_one_series(Y):
        Y = [Y]
    if len(X) == 0:
        X = [list(range(len(y))) for y in Y]
    elif len(X) == 1 and len(Y) > 1:
        X = X * len(Y)
    if len(X) != len(Y):
        raise ValueError(f'plot got {len(X)} x series for {len(Y)} y series')
    if axes is None:
        set_figsize(figsize)
        axes = plt.gca()
    axes.cla()
    for i, (x, y) in enumerate(zip(X, Y)):
        fmt = fmts[i % len(fmts)]
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def _in_jupyter():
    """True inside a Jupyter (IPython kernel) session."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, 'kernel')


class ProgressBoard(HyperParameters):
    """Live plot of training curves, one line per label.

    Each :meth:`draw` call adds a point to the curve `label`; every
    `every_n` points of a curve are averaged into one plotted point.  In
    Jupyter the figure is shown once and updated in place; elsewhere the
    points are only recorded (in ``self.data``) and the figure is drawn
    into ``self.fig`` without being shown.  With ``display=False`` the board
    does nothing at all, which costs nothing during long experiments.
    """

    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None,
                 xscale='linear', yscale='linear',
                 ls=('-', '--', '-.', ':'), colors=('C0', 'C1', 'C2', 'C3'),
                 fig=None, axes=None, figsize=(3.5, 2.5), display=True):
        self.save_hyperparameters()
        self.data = {}       # label -> list of plotted (x, y) points
        self._pending = {}   # label -> points not yet averaged
        self._handle = None  # IPython display handle of the figure

    def draw(self, x, y, label, every_n=1):
        """Add the point (`x`, `y`) to the curve `label`."""
        if not self.display:
            return
        pending = self._pending.setdefault(label, [])
        pending.append((float(x), float(y)))
        if len(pending) < every_n:
            return
        xs, ys = zip(*pending)
        self.data.setdefault(label, []).append(
            (sum(xs) / len(xs), sum(ys) / len(ys)))
        pending.clear()
        self._redraw()

    def _redraw(self):
        if self.axes is None:
            if self.fig is None:
                # A figure outside pyplot: Jupyter does not show it again
                # at the end of the cell, and no GUI window opens.
                from matplotlib import figure as mpl_figure
                self.fig = mpl_figure.Figure(figsize=self.figsize)
            self.axes = self.fig.add_subplot()
        axes = self.axes
        axes.cla()
        for i, (label, points) in enumerate(self.data.items()):
            xs, ys = zip(*points)
            axes.plot(xs, ys, linestyle=self.ls[i % len(self.ls)],
                      color=self.colors[i % len(self.colors)], label=label)
        set_axes(axes, self.xlabel, self.ylabel, self.xlim, self.ylim,
                 self.xscale, self.yscale, legend=None)
        axes.legend()
        if self.fig is not None and _in_jupyter():
            from IPython import display
            use_svg_display()
            if self._handle is None:
                self._handle = display.display(self.fig, display_id=True)
            else:
                self._handle.update(self.fig)


class PlotsTrainingCurves:
    """The part of every framework's ``Module`` that draws its training
    curves on ``self.board`` (a :class:`ProgressBoard`) as its trainer
    advances; the x-axis is epochs."""

    def _plotting(self):
        trainer = self.trainer
        return (trainer is not None and getattr(trainer, 'plot', True)
                and self.board.display)

    def plot(self, key, value, train):
        """Add `value` (a number or a scalar tensor of any framework) to
        the curve 'train_<key>' or 'val_<key>'.  Does nothing when plotting
        is switched off."""
        if not self._plotting():
            return
        trainer = self.trainer
        self.board.xlabel = 'epoch'
        if train:
            x = trainer.train_batch_idx / trainer.num_train_batches
            every_n = trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = trainer.epoch + 1
            every_n = trainer.num_val_batches / self.plot_valid_per_epoch
        self.board.draw(x, float(value),  # float() waits for the result
                        ('train_' if train else 'val_') + key,
                        every_n=max(1, int(every_n)))


class ModuleSkeleton(PlotsTrainingCurves):
    """What the ``Module`` of PyTorch and of MXNet share: a loss, a forward
    pass through ``self.net``, and training and validation steps that plot
    their loss. It comes first among a Module's base classes, so that its
    ``forward`` wins over the framework's abstract one."""

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        assert hasattr(self, 'net'), 'a Module needs self.net or a forward'
        return self.net(X)

    def training_step(self, batch):
        """The loss on one minibatch (the last element holds the labels)."""
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=False)
        return l


class ClassifierSkeleton:
    """The validation step of the ``Classifier`` of PyTorch and of MXNet,
    whose ``accuracy`` and ``loss`` are the framework's own."""

    def validation_step(self, batch):
        """Plot the validation loss and accuracy of one minibatch and
        return the accuracy."""
        Y_hat = self(*batch[:-1])
        acc = self.accuracy(Y_hat, batch[-1])
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        self.plot('acc', acc, train=False)
        return acc


class DataModule(HyperParameters):
    """Base class of the data sets: a training and a validation loader."""

    def __init__(self, root=None, num_workers=0):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)


class TrainerSkeleton(HyperParameters):
    """What the ``Trainer`` of every framework shares: it trains a
    ``Module`` on a :class:`DataModule`, and each call of :meth:`fit` trains
    `max_epochs` more epochs and keeps the model and optimizer state, so a
    script can call ``fit`` once per epoch and report in between.
    ``plot=False`` switches the live training curves off (and the validation
    pass that feeds them), which HPO runs that train many models want.

    A framework's ``Trainer`` says how to find its GPUs (:meth:`gpu` and
    :meth:`gpu_count`) and how to count the batches of a loader
    (:meth:`num_batches`), and adds ``prepare_model``, ``prepare_batch``,
    ``fit_epoch`` and ``validation_error``.
    """

    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0,
                 plot=True):
        self.save_hyperparameters()
        self.gpus = [self.gpu(i)
                     for i in range(min(num_gpus, self.gpu_count()))]
        self.model = self.data = None
        self.epoch = 0

    @staticmethod
    def gpu(i):
        """The framework's device object of the i-th GPU."""
        raise NotImplementedError

    @staticmethod
    def gpu_count():
        """The number of GPUs that the framework can use."""
        raise NotImplementedError

    def num_batches(self, loader):
        """The number of minibatches of a loader."""
        return len(loader)

    def prepare_data(self, data):
        self.data = data
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = self.num_batches(self.train_dataloader)
        self.num_val_batches = (self.num_batches(self.val_dataloader)
                                if self.val_dataloader is not None else 0)

    def fit(self, model, data):
        """Train `model` on `data` for ``self.max_epochs`` more epochs."""
        if data is not self.data:
            self.prepare_data(data)
        if model is not self.model:
            self.prepare_model(model)
        if model._plotting():
            model.board.xlim = [0, self.epoch + self.max_epochs]
        for _ in range(self.max_epochs):
            self.fit_epoch()
            self.epoch += 1
