"""Tests of d2l/base.py: class helpers, plotting, ProgressBoard."""
import matplotlib

matplotlib.use('Agg')

import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from d2l import base  # noqa: E402


def test_add_to_class_adds_method():
    class Counter:
        def __init__(self):
            self.n = 1

    @base.add_to_class(Counter)
    def double(self):
        return 2 * self.n

    assert Counter().double() == 2


def test_save_hyperparameters_stores_arguments_only():
    class Model(base.HyperParameters):
        def __init__(self, lr, batch_size=32, *, name='m', skipped=None,
                     **extra):
            helper = 'not an argument'  # noqa: F841
            self.save_hyperparameters(ignore=['skipped'])

    m = Model(0.5, name='lenet', depth=3)
    assert m.hparams == {'lr': 0.5, 'batch_size': 32, 'name': 'lenet',
                         'extra': {'depth': 3}}
    assert (m.lr, m.batch_size, m.name) == (0.5, 32, 'lenet')
    assert not hasattr(m, 'skipped') and not hasattr(m, 'helper')


def test_save_hyperparameters_sees_reassigned_arguments():
    class Data(base.HyperParameters):
        def __init__(self, root=None):
            root = '/data' if root is None else root
            self.save_hyperparameters()

    assert Data().root == '/data'


def test_set_figsize_and_svg_display_are_harmless():
    base.use_svg_display()  # outside Jupyter: does nothing
    base.set_figsize((4, 3))
    assert tuple(plt.rcParams['figure.figsize']) == (4, 3)


@pytest.mark.parametrize('X, Y, n_lines', [
    ([1, 2, 3], None, 1),                            # y-values only
    (np.arange(5), np.arange(5) ** 2, 1),             # one array series
    (np.arange(5), [np.arange(5), np.ones(5)], 2),    # shared x
    ([[1, 2], [1, 2, 3]], [[3, 4], [5, 6, 7]], 2),    # lists of lists
    (None, [[1, 2, 3], [3, 2, 1], [2, 2, 2]], 3),     # several y, no x
])
def test_plot_series_forms(X, Y, n_lines, tmp_path):
    fig = plt.figure()
    if X is None:
        base.plot(Y, legend=['a', 'b', 'c'])
    else:
        assert base.plot(X, Y, xlabel='x', ylabel='y') is None
    axes = plt.gca()
    assert len(axes.get_lines()) == n_lines
    fig.savefig(tmp_path / 'plot.svg')
    assert (tmp_path / 'plot.svg').stat().st_size > 0
    plt.close(fig)


def test_plot_log_scale_limits_and_axes():
    fig, axes = plt.subplots()
    base.plot([1, 10, 100], [[1, 2, 3], [3, 2, 1]], xscale='log',
              yscale='log', xlim=[1, 100], ylim=[0.5, 5],
              legend=['up', 'down'], axes=axes)
    assert len(axes.get_lines()) == 2
    assert axes.get_xscale() == 'log' and axes.get_yscale() == 'log'
    assert axes.get_xlim() == (1, 100)
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        'up', 'down']
    plt.close(fig)


def test_plot_rejects_mismatched_series():
    with pytest.raises(ValueError):
        base.plot([[1, 2], [1, 2], [1, 2]], [[1, 2], [3, 4]])


def test_progress_board_switched_off_records_nothing():
    board = base.ProgressBoard(display=False)
    board.draw(0, 1.0, 'loss')
    assert board.data == {} and board.fig is None


def test_progress_board_averages_every_n_points():
    board = base.ProgressBoard(xlabel='epoch')
    for i in range(4):
        board.draw(i, 10 * i, 'loss', every_n=2)
    board.draw(0, 5, 'acc')
    assert board.data['loss'] == [(0.5, 5.0), (2.5, 25.0)]
    assert board.data['acc'] == [(0.0, 5.0)]
    labels = [line.get_label() for line in board.axes.get_lines()]
    assert labels == ['loss', 'acc']
    plt.close('all')


def test_progress_board_updates_one_display_in_jupyter(monkeypatch):
    """In Jupyter the figure is displayed once, then updated in place."""
    from IPython import display

    calls = []

    class Handle:
        def update(self, obj):
            calls.append('update')

    def fake_display(obj, display_id=False):
        calls.append('display')
        return Handle()

    monkeypatch.setattr(base, '_in_jupyter', lambda: True)
    monkeypatch.setattr(display, 'display', fake_display)
    board = base.ProgressBoard()
    for i in range(3):
        board.draw(i, i, 'loss')
    assert calls == ['display', 'update', 'update']


# ----------------------------------------------- matplotlib, imported on use

def modules_after(code):
    """The modules loaded by a fresh Python process after running `code`."""
    out = subprocess.run(
        [sys.executable, '-c', code + '\nimport sys; print(*sys.modules)'],
        capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize('module', ['d2l.base', 'd2l.hpo', 'd2l.torch'])
def test_importing_the_library_does_not_import_matplotlib(module):
    """Syne Tune trial processes import d2l and plot nothing."""
    loaded = modules_after(f'import {module}')
    assert module in loaded
    assert 'matplotlib.pyplot' not in loaded and 'matplotlib' not in loaded


def test_plt_and_matplotlib_are_imported_on_first_use():
    loaded = modules_after(
        'from d2l import base\n'
        'assert base.plt.gca().get_lines() == []\n'
        'assert base.matplotlib.patches.Patch  # a submodule, loaded too')
    assert 'matplotlib.pyplot' in loaded and 'matplotlib.patches' in loaded


def test_plt_stands_for_pyplot():
    assert base.plt.gca is plt.gca and base.plt.rcParams is plt.rcParams
    assert base.plt.__name__ == 'matplotlib.pyplot'
    assert base.matplotlib.__version__ == matplotlib.__version__
    assert base.matplotlib.patches.Patch is matplotlib.patches.Patch
    assert 'subplots' in dir(base.plt)  # completion in Jupyter
    with pytest.raises(AttributeError):
        base.plt.no_such_function


def test_plot_through_the_library_draws(tmp_path):
    from d2l import hpo  # every framework module gets plt from base, too
    hpo.plt.figure()
    base.plot([1, 2, 3], [[1, 4, 9]], legend=['squares'])
    hpo.plt.title('through d2l.plt')
    assert plt.gca().get_title() == 'through d2l.plt'
    assert len(plt.gca().get_lines()) == 1
    hpo.plt.savefig(tmp_path / 'plot.svg')
    assert (tmp_path / 'plot.svg').stat().st_size > 0
    plt.close('all')
