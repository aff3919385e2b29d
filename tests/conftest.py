"""Shared fixtures: a blocked network and tiny Fashion-MNIST IDX files."""
import os
import socket
import struct

import pytest

# Tests never open windows: use the non-interactive backend.
os.environ.setdefault('MPLBACKEND', 'Agg')


@pytest.fixture(scope='module')
def browser():
    """Headless Chromium (tests/browser.py), for the tests of the built
    book, its notebooks and its slides."""
    import browser as browser_support
    with browser_support.chromium() as chromium:
        yield chromium


@pytest.fixture
def no_network(monkeypatch):
    """Make every attempt to open a network connection fail at once.

    Returns the list of attempted addresses, so a test can check whether
    the code tried to connect at all."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError('network access is blocked in this test')

    monkeypatch.setattr(socket, 'getaddrinfo', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', refuse)
    return attempts


def write_idx_images(path, images):
    """IDX file of uint8 images (a list of rows x cols lists of ints)."""
    n, rows, cols = len(images), len(images[0]), len(images[0][0])
    with open(path, 'wb') as f:
        f.write(struct.pack('>iiii', 0x00000803, n, rows, cols))
        f.write(bytes(p for image in images for row in image for p in row))


def write_idx_labels(path, labels):
    with open(path, 'wb') as f:
        f.write(struct.pack('>ii', 0x00000801, len(labels)))
        f.write(bytes(labels))


def fake_image(i, size=28):
    """A deterministic 28x28 pattern that differs between images."""
    return [[(i * 7 + r * 3 + c) % 256 for c in range(size)]
            for r in range(size)]


@pytest.fixture
def idx_root(tmp_path):
    """A data root holding tiny uncompressed Fashion-MNIST IDX files:
    40 training and 20 validation images, label i % 10 for image i."""
    raw = tmp_path / 'FashionMNIST' / 'raw'
    raw.mkdir(parents=True)
    for prefix, n in (('train', 40), ('t10k', 20)):
        write_idx_images(raw / f'{prefix}-images-idx3-ubyte',
                         [fake_image(i) for i in range(n)])
        write_idx_labels(raw / f'{prefix}-labels-idx1-ubyte',
                         [i % 10 for i in range(n)])
    return tmp_path


# The long end-to-end tests run after the fast unit tests, in this order:
# the notebooks one by one, the narrated claims (on the notebooks just
# evaluated), then the book build (which renders those notebooks and writes
# the notebooks to download), the PDF and the slides (from the same
# evaluated notebooks),
# then checks of the built book, then the downloaded notebooks run in fresh
# environments.
END_TO_END = ('test_notebooks.py', 'test_narrative.py', 'test_book_build.py',
              'test_pdf.py', 'test_slides.py', 'test_solutions.py',
              'test_offline_html.py',
              'test_notebook_downloads.py', 'test_colab_notebooks.py')


def pytest_collection_modifyitems(items):
    def rank(item):
        name = os.path.basename(str(item.fspath))
        return END_TO_END.index(name) + 1 if name in END_TO_END else 0
    items.sort(key=rank)
