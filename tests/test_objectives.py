"""The three frameworks' HPO objectives are interchangeable: the training
scripts that the chapter writes for Syne Tune accept the same configuration
in every tab and report the same metrics, and the library's hpo_objective
has the same signature and reporting in every framework.

Each framework runs in its own environment (.venv for PyTorch, .venv-<tab>
for the others), as the book's notebooks do."""
import json
import os
import re
import subprocess
import sys

import pytest
from syne_tune.report import retrieve

from chapter import CHAPTER, ROOT

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import evaluate_notebooks  # noqa: E402

TABS = evaluate_notebooks.TABS
LIBRARY = {'pytorch': 'torch', 'tensorflow': 'tensorflow', 'mxnet': 'mxnet'}
CONFIG = ['--learning_rate', '0.1', '--batch_size', '64', '--max_epochs', '2']


def _environment():
    env = dict(os.environ, D2L_OFFLINE='1', D2L_HPO_PROFILE='cpu')
    env.pop('MPLBACKEND', None)
    return env


def _written_script(section, name, tab):
    """The body of the `%%writefile name` cell of `tab` in `section`."""
    text = open(os.path.join(CHAPTER, section)).read()
    for cell in re.findall(r'```\{\.python \.input\}\n(.*?)```', text, re.S):
        lines = cell.split('\n')
        if lines[0] == f'%%tab {tab}' and lines[1] == f'%%writefile {name}':
            return '\n'.join(lines[2:])
    raise AssertionError(f'no {tab} cell writes {name} in {section}')


@pytest.fixture(scope='module')
def reports(tmp_path_factory):
    """What each tab's report-every-epoch script reported, run as Syne
    Tune's LocalBackend runs it (with an extra argument of its own)."""
    folder = tmp_path_factory.mktemp('scripts')
    results = {}
    for tab in TABS:
        script = folder / f'train_{tab}.py'  # not {tab}.py: it would shadow the framework
        script.write_text(_written_script(
            'sh-async.md', 'train_script_report_eachepoch.py', tab))
        run = subprocess.run(
            [evaluate_notebooks.tab_python(tab), str(script), *CONFIG,
             '--st_checkpoint_dir', str(folder / tab)],
            cwd=folder, env=_environment(), capture_output=True, text=True,
            timeout=300)
        assert run.returncode == 0, (tab, run.stderr[-3000:])
        results[tab] = retrieve(run.stdout.splitlines())
    return results


@pytest.mark.parametrize('tab', TABS)
def test_script_reports_every_epoch(reports, tab):
    assert [r['epoch'] for r in reports[tab]] == [1, 2]
    assert all(0 <= r['validation_error'] <= 1 for r in reports[tab])


def test_scripts_report_the_same_metrics(reports):
    names = {tab: sorted(reports[tab][0]) for tab in TABS}
    assert names['pytorch'] == names['tensorflow'] == names['mxnet'], names
    assert {'epoch', 'validation_error'} <= set(names['pytorch'])


PROBE = '''
import inspect, json
from d2l import {library} as d2l
curve = []
error = d2l.hpo_objective(learning_rate=0.1, batch_size=64, max_epochs=2,
                          report=lambda epoch, error: curve.append([epoch, error]))
print(json.dumps({{'signature': str(inspect.signature(d2l.hpo_objective)),
                  'error': error, 'curve': curve}}))
'''


def test_hpo_objective_is_the_same_in_every_framework():
    outcomes = {}
    for tab in TABS:
        run = subprocess.run(
            [evaluate_notebooks.tab_python(tab), '-c',
             PROBE.format(library=LIBRARY[tab])],
            cwd=ROOT, env=_environment(), capture_output=True, text=True,
            timeout=300)
        assert run.returncode == 0, (tab, run.stderr[-3000:])
        outcomes[tab] = json.loads(run.stdout.strip().splitlines()[-1])
    signatures = {tab: o['signature'] for tab, o in outcomes.items()}
    assert len(set(signatures.values())) == 1, signatures
    for tab, outcome in outcomes.items():
        assert [epoch for epoch, _ in outcome['curve']] == [1, 2], tab
        # The returned error is the one reported after the last epoch.
        assert outcome['error'] == pytest.approx(outcome['curve'][-1][1]), tab
        assert 0 <= outcome['error'] < 0.9, (tab, outcome)  # it learned
