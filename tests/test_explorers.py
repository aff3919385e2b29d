"""The interactive explorers of the chapter (d2l.hpo): the calculator of
rungs and brackets of sh-intro.md, the worker timeline of asha-scratch.md
and the jobs the simulator records for it, their widgets (in-process), and
how the evaluation keeps live widgets out of the book
(tools/evaluate_notebooks.py). tests/test_offline_html.py checks the built
pages."""
import contextlib
import io
import logging
import os
import re
import sys

import nbformat
import pytest

from chapter import CHAPTER, ROOT
from d2l import hpo as d2l

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import evaluate_notebooks  # noqa: E402

WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'

# Li et al. (JMLR 2018), Table 1: R = 81, eta = 3; for each bracket s the
# pairs (n_i, r_i) of its rungs.
LI_ET_AL_TABLE_1 = {
    4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    3: [(34, 3), (11, 9), (3, 27), (1, 81)],
    2: [(15, 9), (5, 27), (1, 81)],
    1: [(8, 27), (2, 81)],
    0: [(5, 81)],
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    d2l.plt.close('all')


@pytest.fixture(scope='module')
def mlp_table():
    logging.getLogger('syne_tune').setLevel(logging.ERROR)
    return d2l.load_learning_curves('mlp_learning_curves.csv')


def printed(function, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        function(*args, **kwargs)
    return out.getvalue()


def chapter_cell(section, start):
    """The source of the code cell of `section` whose first line after the
    tab line starts with `start`."""
    text = open(os.path.join(CHAPTER, section + '.md'), encoding='utf-8').read()
    cells = re.findall(r'```\{\.python \.input\}\n%%tab all\n(.*?)\n```',
                       text, re.S)
    (cell,) = [c for c in cells if c.startswith(start)]
    return cell


# --------------------------------------------------------------------------
# The calculator of rungs and brackets
# --------------------------------------------------------------------------

def test_calculator_gives_li_et_al_table_1():
    # "bracket b ... is their bracket s = K - b": K = 4 here
    costs = d2l.multi_fidelity_costs(eta=3, r_min=1, r_max=81)
    assert costs['rung_levels'] == [1, 3, 9, 27, 81]
    assert {4 - b: sizes for b, sizes in enumerate(costs['brackets'])} == (
        LI_ET_AL_TABLE_1)
    text = printed(d2l.show_multi_fidelity_costs)
    for s, sizes in LI_ET_AL_TABLE_1.items():
        assert f'bracket {4 - s}   ' + ', '.join(
            f'{n} x {r}' for n, r in sizes) in text


def test_calculator_numbers_come_from_the_schedulers():
    costs = d2l.multi_fidelity_costs(eta=2, r_min=1, r_max=27, prefact=2)
    sh = d2l.SuccessiveHalvingScheduler(None, 2, 1, 27, prefact=2)
    hyperband = d2l.HyperbandScheduler(None, 2, 1, 27)
    assert costs['rungs'] == list(zip(sh.num_trials, sh.rung_levels))
    assert costs['rungs'] == [(32, 1), (16, 2), (8, 4), (4, 8), (2, 27)]
    assert costs['brackets'] == hyperband.bracket_sizes()
    assert costs['sh_epochs'] == 32 + 32 + 32 + 32 + 54
    assert costs['sh_full_epochs'] == 32 * 27
    assert costs['hyperband_epochs'] == [
        sum(n * r for n, r in sizes) for sizes in costs['brackets']]
    assert costs['hyperband_full_epochs'] == 27 * sum(
        sizes[0][0] for sizes in costs['brackets'])


def test_calculator_default_output_is_what_the_prose_says():
    # "a round of SH costs 405 epochs, 6.2% of training its 81
    # configurations fully, and Hyperband's five brackets cost 1,902
    # epochs, about five times as much, for 143 configurations"
    costs = d2l.multi_fidelity_costs()
    assert costs['sh_epochs'] == 405 and costs['rungs'][0][0] == 81
    assert sum(costs['hyperband_epochs']) == 1902
    assert len(costs['brackets']) == 5
    assert costs['hyperband_full_epochs'] == 143 * 81
    text = printed(d2l.show_multi_fidelity_costs)
    assert 'SH round: 405 epochs, 6.2% of training' in text
    assert 'Hyperband: 1902 epochs' in text


def test_calculator_widget_redraws_with_new_numbers():
    from ipywidgets import interactive
    widget = eval(chapter_cell('sh-intro', 'from ipywidgets import')
                  .split('\n', 2)[2], {'interactive': interactive,
                  'show_multi_fidelity_costs': d2l.show_multi_fidelity_costs})
    sliders = {c.description: c for c in widget.children[:-1]}
    assert {name: (s.min, s.value, s.max) for name, s in sliders.items()} == {
        'eta': (2, 3, 5), 'r_min': (1, 1, 9), 'r_max': (9, 81, 243),
        'prefact': (1, 1, 4)}
    text = printed(setattr, sliders['eta'], 'value', 2)
    assert 'eta = 2, r_min = 1, r_max = 81, c = 1' in text
    assert 'SH round    64 x 1, 32 x 2' in text
    text = printed(setattr, sliders['prefact'], 'value', 3)
    assert 'SH round    192 x 1, 96 x 2' in text
    assert len(d2l.plt.get_fignums()) == 3  # the first drawing, two redraws


# --------------------------------------------------------------------------
# The jobs of the simulator and the worker timeline
# --------------------------------------------------------------------------

@pytest.mark.parametrize('method', ['random search', 'synchronous SH',
                                    'ASHA (promotion)', 'ASHA (stopping)',
                                    'asynchronous Hyperband'])
def test_simulator_records_every_job(mlp_table, method):
    n_workers, max_time = 3, 60.0
    scheduler = d2l.scheduler_by_name(method, d2l.TableSearcher(mlp_table, 1),
                                      3)
    trace = d2l.Simulator(mlp_table, n_workers, max_time).run(scheduler)
    assert len(trace.jobs) == trace.n_jobs  # finished ones and cut ones
    for worker in range(n_workers):
        spans = sorted((start, end) for w, start, end, _ in trace.jobs
                       if w == worker)
        assert all(0 <= start <= end <= max_time for start, end in spans)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(
            spans, spans[1:]))  # a worker runs one job at a time
        assert sum(end - start for start, end in spans) == pytest.approx(
            trace.busy[worker])
    levels = d2l.rung_levels(1, mlp_table.max_epochs, 3)
    finished = [epochs for _, _, end, epochs in trace.jobs if end < max_time]
    if method in ('synchronous SH', 'ASHA (promotion)', 'ASHA (stopping)'):
        assert set(finished) <= set(levels)
    if method == 'random search':
        assert set(finished) == {mlp_table.max_epochs}


def test_asynchronous_hyperband_uses_several_brackets(mlp_table):
    scheduler = d2l.scheduler_by_name('asynchronous Hyperband',
                                   d2l.TableSearcher(mlp_table, 0), 3)
    assert len(scheduler.scheduler.brackets) == 4  # rung levels 1, 3, 9, 27
    trace = d2l.Simulator(mlp_table, 4, 60.0).run(scheduler)
    stopped_at = {epochs for _, _, end, epochs in trace.jobs if end < 60.0}
    assert stopped_at <= {1, 3, 9, 27} and 27 in stopped_at


def test_worker_timeline_default_is_what_the_prose_says(mlp_table):
    # "The stopping variant keeps all four workers busy. Most of its bars
    # are short, trials stopped after one or three epochs, while the few
    # trials that train for all 27 epochs take up much of the workers' time."
    text = printed(d2l.show_worker_timeline, mlp_table)
    assert re.match(r'ASHA \(stopping\), 4 workers, eta = 3, seed 0: \d+ '
                    r'jobs, .* utilization 100.0%', text)
    scheduler = d2l.scheduler_by_name('ASHA (stopping)',
                                   d2l.TableSearcher(mlp_table, 0), 3)
    budget = 32 * mlp_table.seconds.sum(axis=1).mean() / 4
    trace = d2l.Simulator(mlp_table, 4, budget).run(scheduler)
    finished = [(end - start, epochs) for _, start, end, epochs in trace.jobs
                if end < budget]
    assert sum(epochs <= 3 for _, epochs in finished) > len(trace.jobs) / 2
    full = [seconds for seconds, epochs in finished if epochs == 27]
    assert len(full) < len(trace.jobs) / 10
    assert sum(full) > sum(trace.busy) / 3


def test_worker_timeline_draws_one_bar_per_job(mlp_table):
    d2l.show_worker_timeline(mlp_table, 'synchronous SH', n_workers=16)
    ax = d2l.plt.gcf().axes[0]
    bars = sum(len(c.get_paths()) for c in ax.collections)
    text = printed(d2l.show_worker_timeline, mlp_table, 'synchronous SH', 16)
    n_jobs = int(re.search(r'(\d+) jobs', text).group(1))
    assert bars == n_jobs and len(ax.collections) == 16


def test_timeline_widget_redraws_with_new_numbers(mlp_table):
    from ipywidgets import fixed, interactive
    widget = eval(chapter_cell('asha-scratch', 'from ipywidgets import')
                  .split('\n', 2)[2], {
                      'interactive': interactive, 'fixed': fixed,
                      'mlp_table': mlp_table,
                      'show_worker_timeline': d2l.show_worker_timeline})
    controls = {c.description: c for c in widget.children[:-1]}
    assert set(controls) == {'method', 'n_workers', 'eta', 'seed'}
    assert len(controls['method'].options) == 5
    text = printed(setattr, controls['n_workers'], 'value', 16)
    assert 'ASHA (stopping), 16 workers, eta = 3, seed 0:' in text
    text = printed(setattr, controls['method'], 'value', 'synchronous SH')
    assert 'synchronous SH, 16 workers' in text
    utilization = float(re.search(r'utilization ([\d.]+)%', text).group(1))
    assert utilization < 50  # the idle time that the timeline shows


# --------------------------------------------------------------------------
# Live widgets do not reach the evaluated notebooks (and the HTML book)
# --------------------------------------------------------------------------

def widget_outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == 'code'
            for out in cell.get('outputs', [])
            if WIDGET_VIEW in out.get('data', {})]


def test_strip_widgets_removes_live_widgets_only(tmp_path):
    from nbconvert.preprocessors import ExecutePreprocessor
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                         for source in [
        'from d2l.hpo import show_multi_fidelity_costs',
        'show_multi_fidelity_costs()',
        chapter_cell('sh-intro', 'from ipywidgets import')]])
    kernel = evaluate_notebooks.kernel_name('pytorch')
    ExecutePreprocessor(timeout=120, kernel_name=kernel).preprocess(
        nb, resources={'metadata': {'path': str(tmp_path)}})
    assert widget_outputs(nb) and 'widgets' in nb.metadata
    assert 'interactive(children=' in nbformat.writes(nb)
    static = [dict(out) for out in nb.cells[1].outputs]
    evaluate_notebooks.strip_widgets(nb)
    assert not widget_outputs(nb) and 'widgets' not in nb.metadata
    assert 'interactive(children=' not in nbformat.writes(nb)
    assert nb.cells[2].outputs == []
    assert [dict(out) for out in nb.cells[1].outputs] == static
    assert 'bracket 4   5 x 81' in nb.cells[1].outputs[0]['text']


def test_evaluation_skips_the_cells_that_make_widgets():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                         for source in [
        'x = 1', 'from ipywidgets import IntSlider\n\nIntSlider(x)',
        'import ipywidgets\nx = 2', 'print(x)']])
    evaluate_notebooks._run_in_kernel(
        evaluate_notebooks.kernel_name('pytorch'))(nb, timeout=120)
    assert [cell.get('execution_count') for cell in nb.cells] == [
        1, None, None, 2]
    assert nb.cells[1].outputs == [] and nb.cells[3].outputs[0].text == '1\n'


@pytest.mark.parametrize('section', ['sh-intro', 'asha-scratch'])
@pytest.mark.parametrize('tab', evaluate_notebooks.TABS)
def test_evaluated_notebooks_carry_no_live_widgets(section, tab):
    eval_dir = '_build/eval' if tab == 'pytorch' else f'_build/eval_{tab}'
    path = os.path.join(ROOT, eval_dir, 'chapter_hyperparameter_optimization',
                        section + '.ipynb')
    if not os.path.exists(path):
        pytest.skip(f'{path} not evaluated')
    source = os.path.join(CHAPTER, section + '.md')
    if os.path.getmtime(path) < os.path.getmtime(source):
        pytest.skip(f'{path} is older than its source')
    nb = nbformat.read(path, as_version=4)
    assert not widget_outputs(nb) and 'widgets' not in nb.metadata
    text = nbformat.writes(nb)
    assert 'interactive(children=' not in text
    assert ('bracket 4   5 x 81' if section == 'sh-intro'
            else 'ASHA (stopping), 4 workers') in text


@pytest.mark.parametrize('section', ['sh-intro', 'asha-scratch'])
@pytest.mark.parametrize('tab', evaluate_notebooks.TABS)
def test_downloaded_notebooks_install_ipywidgets(section, tab):
    import build_notebooks
    source = open(os.path.join(CHAPTER, section + '.md'),
                  encoding='utf-8').read()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)
                                         for cell in re.findall(
        r'```\{\.python \.input\}\n(.*?)\n```', source, re.S)])
    packages = build_notebooks.packages_for(
        nb, tab, build_notebooks.read_package_table())
    assert (['ipywidgets'], '>=8,<9', '8.1.9') in packages
