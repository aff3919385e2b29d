"""Every section of the chapter runs end to end as a notebook, in every tab
(pytorch, tensorflow, mxnet), each in its own environment, in the CPU
profile, within a hard time limit per notebook, and shows its figures.

The notebooks are evaluated into _build/eval[_<tab>] exactly as `make html`
does, so the book build that follows renders them without running them
again."""
import os
import sys

import nbformat
import pytest

from chapter import NOTEBOOKS, ROOT, section_name

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import evaluate_notebooks  # noqa: E402

# A section is written to evaluate in about 3 minutes on 2 CPU cores; the
# limit leaves room for a slow machine but catches a runaway experiment.
TIME_LIMIT = 420
SECONDS_FILE = os.path.join(ROOT, '_build', 'notebook_seconds.txt')


@pytest.fixture(autouse=True)
def cpu_profile(monkeypatch):
    # The kernel inherits this environment. conftest.py's Agg backend would
    # keep the notebooks from showing figures: the kernel picks its own.
    monkeypatch.setenv('D2L_HPO_PROFILE', 'cpu')
    monkeypatch.delenv('MPLBACKEND', raising=False)


def _outputs(nb, kind):
    return [out for cell in nb.cells if cell.cell_type == 'code'
            for out in cell.get('outputs', []) if out.get('output_type') == kind
            or kind in out.get('data', {})]


@pytest.mark.parametrize('tab', evaluate_notebooks.TABS)
@pytest.mark.parametrize('path', NOTEBOOKS, ids=section_name)
def test_notebook_runs(path, tab):
    evaluated, seconds = evaluate_notebooks.evaluate(path, TIME_LIMIT, tab)
    os.makedirs(os.path.dirname(SECONDS_FILE), exist_ok=True)
    with open(SECONDS_FILE, 'a') as f:
        f.write(f'{section_name(path)} {tab} {seconds:.1f}\n')
    nb = nbformat.read(evaluated, as_version=4)
    assert not _outputs(nb, 'error')
    figures = _outputs(nb, 'image/svg+xml') + _outputs(nb, 'image/png')
    assert figures, f'{path} produced no figure'
    # The hardware profile in use is stated in every section's output.
    assert "name='cpu'" in nbformat.writes(nb)
    # The tab's own framework ran: its library was imported.
    library = {'pytorch': 'torch'}.get(tab, tab)
    assert f'from d2l import {library} as d2l' in nbformat.writes(nb)
