"""The PyTorch library of the book: devices, the Module / DataModule /
Trainer trio, Fashion-MNIST (with an offline fallback), LeNet and AlexNet.

The part above the generated-code header is written by hand; the part below
it is generated from the chapter's ``#@tab pytorch`` / ``#@save`` cells.
"""
import os
import sys


def _prefer_sleeping_openmp_threads(environ=os.environ, modules=sys.modules):
    """With several threads, OpenMP's default lets waiting threads spin.  On
    cores shared with other processes (parallel HPO trials, a busy laptop)
    that made one LeNet epoch on 2 threads 15-20x slower; sleeping instead
    of spinning avoids it.  OpenMP reads the variable when torch is loaded,
    so this only acts before ``import torch``; a value the user set wins."""
    if 'torch' not in modules:
        environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')


_prefer_sleeping_openmp_threads()

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from d2l.base import *  # noqa: F401,F403,E402
from d2l.hpo import *  # noqa: F401,F403,E402
from d2l.exercises import check_exercise  # noqa: F401,E402
from d2l import fashion_mnist  # noqa: E402

d2l = sys.modules[__name__]


# ----------------------------------------------------------------- devices

def cpu():
    """The CPU device."""
    return torch.device('cpu')


def gpu(i=0):
    """The `i`-th GPU device."""
    return torch.device(f'cuda:{i}')


def num_gpus():
    """The number of GPUs that PyTorch can use."""
    return torch.cuda.device_count()


def try_gpu(i=0):
    """The `i`-th GPU if it exists, else the CPU."""
    return gpu(i) if num_gpus() > i else cpu()


# --------------------------------------------------------------- optimizer

class SGD:
    """Minibatch stochastic gradient descent, ``param -= lr * grad``: the
    update of ``torch.optim.SGD`` without momentum and weight decay,
    computed with the same call (on the CPU, the same numbers bit for bit).

    The library does not use ``torch.optim.SGD`` because creating any
    ``torch.optim`` optimizer first imports ``torch._dynamo`` (and sympy):
    1-3 s on the machine that builds the book, in every Syne Tune trial
    process, before its first epoch."""

    def __init__(self, params, lr):
        self.params = list(params)  # `params` may be a generator
        self.lr = lr

    def step(self):
        with torch.no_grad():
            for param in self.params:
                if param.grad is not None:
                    param.add_(param.grad, alpha=-self.lr)

    def zero_grad(self):
        """Drop the gradients, as ``torch.optim``'s optimizers do by
        default (``set_to_none=True``)."""
        for param in self.params:
            param.grad = None


# ------------------------------------------------------------------ models

class Module(ModuleSkeleton, nn.Module, HyperParameters):
    """Base class of the models: a network plus its loss, its optimizer
    and the curves it plots while it is trained.

    ``self.board`` is a :class:`ProgressBoard`; set
    ``model.board.display = False`` (or create the trainer with
    ``plot=False``) to train without plotting.
    """

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()
        self.trainer = None

    def configure_optimizers(self):
        """Minibatch SGD with learning rate ``self.lr``."""
        return SGD(self.parameters(), lr=self.lr)

    def apply_init(self, inputs, init=None):
        """Run the network once on `inputs` (a list of tensors), which
        creates the parameters of lazy layers, then apply `init` to every
        submodule."""
        with torch.no_grad():
            self.forward(*inputs)
        if init is not None:
            self.apply(init)


class Classifier(ClassifierSkeleton, Module):
    """A model whose outputs are class scores (logits)."""

    def accuracy(self, Y_hat, Y, averaged=True):
        """Fraction (``averaged=True``) or 0/1 indicators of the correct
        predictions."""
        predictions = Y_hat.reshape(-1, Y_hat.shape[-1]).argmax(dim=1)
        correct = (predictions == Y.reshape(-1)).float()
        return correct.mean() if averaged else correct

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy loss between logits `Y_hat` and labels `Y`."""
        return F.cross_entropy(Y_hat.reshape(-1, Y_hat.shape[-1]),
                               Y.reshape(-1),
                               reduction='mean' if averaged else 'none')


def init_cnn(module):
    """Xavier-uniform weights and zero biases for linear and convolutional
    layers; use as ``net.apply(init_cnn)``."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        if isinstance(module.weight, nn.parameter.UninitializedParameter):
            return  # a lazy layer that has not seen an input yet
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class LeNet(Classifier):
    """LeNet-5 :cite:`lecun1998gradient` for 1x28x28 images, with ReLU
    activations and max-pooling (the original used sigmoids and average
    pooling; ReLU learns much faster with SGD in few epochs)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(),  # 6x28x28
            nn.MaxPool2d(kernel_size=2, stride=2),                 # 6x14x14
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(),            # 16x10x10
            nn.MaxPool2d(kernel_size=2, stride=2),                 # 16x5x5
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))
        self.net.apply(init_cnn)


class AlexNet(Classifier):
    """AlexNet :cite:`krizhevsky2012imagenet` for 1x224x224 images (one
    input channel, `num_classes` outputs)."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1),  # 54
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),       # 26
            nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),                  # 12
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),                  # 5
            nn.Flatten(),
            nn.Linear(256 * 5 * 5, 4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.Linear(4096, num_classes))
        self.net.apply(init_cnn)


# -------------------------------------------------------------------- data

def default_data_dir():
    """The folder for data sets (see :mod:`d2l.fashion_mnist`)."""
    return fashion_mnist.default_data_dir()


class _ImageTensors(torch.utils.data.Dataset):
    """Grayscale images held in memory as an (n, 28, 28) uint8 array,
    served as (1, h, w) float tensors in [0, 1] like ``ToTensor`` does."""

    def __init__(self, images, labels, resize):
        self.images = torch.from_numpy(images).unsqueeze(1).float() / 255
        self.targets = torch.from_numpy(labels)
        self.resize = None
        if tuple(resize) != tuple(images.shape[1:]):
            # torchvision costs seconds to import: only when resizing.
            from torchvision import transforms
            self.resize = transforms.Resize(resize, antialias=True)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        X = self.images[i]
        if self.resize is not None:
            X = self.resize(X)
        return X, int(self.targets[i])


class FashionMNIST(fashion_mnist.FashionMNISTData):
    """The Fashion-MNIST data set :cite:`xiao2017fashion` (60,000 training
    and 10,000 validation images of clothing, 10 classes, 28x28 grayscale),
    or the fallback that :func:`d2l.fashion_mnist.load_fashion_mnist`
    describes when it cannot be found or downloaded.

    ``root`` defaults to ``$D2L_DATA_DIR`` or ``~/.d2l/data``.  ``resize``
    is the (height, width) fed to the network; ``None`` means 28x28.
    ``num_train`` and ``num_val``, when given, keep only the first that many
    training and validation images (a fixed subset).
    ``self.dataset_name`` names the data set that was actually loaded.
    """

    def __init__(self, batch_size=64, resize=(28, 28), root=None,
                 num_workers=None, num_train=None, num_val=None):
        super().__init__(batch_size, resize, root, num_workers, num_train,
                         num_val)
        if num_workers is None:
            # In memory already: worker processes only pay off for the
            # resizing of the GPU profile.
            self.num_workers = 4 if (torch.cuda.is_available()
                                     and self.resize != (28, 28)) else 0

    def datasets(self, arrays):
        return (_ImageTensors(arrays.train_images, arrays.train_labels,
                              self.resize),
                _ImageTensors(arrays.val_images, arrays.val_labels,
                              self.resize))

    def get_dataloader(self, train):
        data = self.train if train else self.val
        return torch.utils.data.DataLoader(data, self.batch_size,
                                           shuffle=train,
                                           num_workers=self.num_workers)


# ----------------------------------------------------------------- trainer

class Trainer(TrainerSkeleton):
    """Trains a :class:`Module` on a :class:`DataModule` with minibatch
    SGD (the model's ``configure_optimizers``); see :class:`TrainerSkeleton`.
    ``num_gpus > 0`` uses GPUs when there are any and the CPU otherwise.
    """
    gpu, gpu_count = staticmethod(gpu), staticmethod(num_gpus)

    def prepare_model(self, model):
        model.trainer = self
        if self.gpus:
            model.to(self.gpus[0])
        if any(isinstance(p, nn.parameter.UninitializedParameter)
               for p in model.parameters()):
            # Lazy layers get their shapes from a first batch.
            X = self.prepare_batch(next(iter(self.train_dataloader)))[:-1]
            with torch.no_grad():
                model(*X)
        self.model = model
        self.optim = model.configure_optimizers()
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0

    def prepare_batch(self, batch):
        """Move a minibatch to the GPU in use (if any)."""
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def fit_epoch(self):
        """One pass over the training data, then (only when the curves
        are plotted) one over the validation data."""
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            loss.backward()
            if self.gradient_clip_val > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(),
                                         self.gradient_clip_val)
            self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None or not self.model._plotting():
            return
        self.model.eval()
        with torch.no_grad():
            for batch in self.val_dataloader:
                self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1

    def validation_error(self):
        """1 - accuracy of the model on the whole validation set."""
        model = self.model
        was_training = model.training
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for batch in self.val_dataloader:
                *X, Y = self.prepare_batch(batch)
                correct += model.accuracy(model(*X), Y,
                                          averaged=False).sum().item()
                total += Y.numel()
        model.train(was_training)
        return 1.0 - correct / total


# The chapter's own framework code (HPOTrainer, hpo_objective), generated by
# `make lib`; it uses what this module defined above.
from d2l.torch_hpo import *  # noqa: F401,F403,E402
