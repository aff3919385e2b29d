"""Evaluate the book's notebooks, one tab and one notebook at a time.

    python tools/evaluate_notebooks.py                  # outdated, every tab
    python tools/evaluate_notebooks.py --tab mxnet      # outdated, one tab
    python tools/evaluate_notebooks.py --all            # every notebook
    python tools/evaluate_notebooks.py chapter_hyperparameter_optimization/sh-async.md
    python tools/evaluate_notebooks.py --book solutions   # the instructors' book

The pytorch tab goes to _build/eval, the others to _build/eval_<tab>
(d2lbook's folders). Each tab runs in a Jupyter kernel of its own pinned
environment: .venv for pytorch (this interpreter), .venv-<tab> for the
others (see --python); a kernel spec for it is written to _build/kernels.

`make html` runs this before `d2lbook build html`, which then finds every
evaluated notebook up to date and only renders it. The notebooks are
processed by d2lbook's own code (tab selection, formatting, outputs), but:

- one after another: d2lbook 1.0.3 runs two at once on a machine without a
  GPU, and the Syne Tune experiments of two notebooks would share the cores;
- with a hard limit on each notebook's total time (--timeout);
- without d2lbook's GPU guess: it reserves a GPU for any notebook whose code
  mentions `gpus=1` or `try_gpu()`, and on a machine without a GPU it then
  refuses to evaluate it at all. Here every notebook sees the machine as it
  is, and the chapter's hardware profile decides.

Cells that make live widgets are not run, and any widget output is removed
(_ExecuteWithoutWidgets, strip_widgets): the HTML book shows static outputs.
"""
import argparse
import json
import logging
import os
import re
import signal
import sys
import time

import nbformat
from d2lbook import build, config as d2lbook_config
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABS = ('pytorch', 'tensorflow', 'mxnet')
KERNELS = os.path.join(ROOT, '_build', 'kernels')
# The d2lbook project (its config.ini) to evaluate: the students' book, or
# with --book the instructors' book in solutions/.
BOOK = ROOT


def tab_python(tab):
    """The interpreter of a tab's environment."""
    if tab == TABS[0]:
        return sys.executable
    return os.path.join(ROOT, f'.venv-{tab}', 'bin', 'python')


def kernel_name(tab, python=None):
    """Write the kernel spec 'd2l-<tab>' that starts `python` (default:
    the tab's environment) and make Jupyter find it; return its name."""
    python = python or tab_python(tab)
    if not os.path.exists(python):
        raise FileNotFoundError(
            f'{python} does not exist: the {tab} environment is missing '
            f'(make setup-{tab} creates it)')
    name = f'd2l-{tab}'
    folder = os.path.join(KERNELS, 'kernels', name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'kernel.json'), 'w') as f:
        json.dump({'argv': [python, '-m', 'ipykernel_launcher', '-f',
                            '{connection_file}'],
                   'display_name': f'd2l ({tab})', 'language': 'python'}, f)
    path = os.environ.get('JUPYTER_PATH', '')
    if KERNELS not in path.split(os.pathsep):
        os.environ['JUPYTER_PATH'] = os.pathsep.join(filter(None, [KERNELS,
                                                                   path]))
    return name


# A cell that makes live widgets: it imports ipywidgets.
LIVE_WIDGETS = re.compile(r'^\s*(from|import)\s+ipywidgets\b', re.M)


class _ExecuteWithoutWidgets(ExecutePreprocessor):
    """Runs every cell but those that make live widgets. A static page
    cannot run them, and the evaluation sometimes hung in such a cell
    (nbclient stands in for the frontend of the Output widget). Sections
    print the widget's output for the default values in a cell before."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == 'code' and LIVE_WIDGETS.search(cell.source):
            cell.outputs = []
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


def _run_in_kernel(name):
    """Stands in for notedown.run, which d2lbook calls to execute a
    notebook, with the tab's kernel instead of the default one."""
    def run(notebook, timeout=30):
        _ExecuteWithoutWidgets(timeout=timeout, kernel_name=name).preprocess(
            notebook, resources={})
    return run


class _RunNow:
    """Stands in for d2lbook's scheduler: runs each task when it is added."""

    def __init__(self, timeout):
        self.timeout = timeout

    def add(self, num_cpus, num_gpus, target, args, description=''):
        def too_long(signum, frame):
            raise TimeoutError(f'{description}: longer than {self.timeout} s')
        cwd = os.getcwd()  # d2lbook changes into the notebook's folder
        signal.signal(signal.SIGALRM, too_long)
        signal.alarm(int(self.timeout))
        try:
            target(*args)
        finally:
            signal.alarm(0)
            os.chdir(cwd)


def _builder(tab=TABS[0]):
    os.chdir(BOOK)
    return build.Builder(d2lbook_config.Config(tab=tab))


def evaluate(source, timeout=1200, tab=TABS[0], python=None):
    """Evaluate one Markdown source's `tab` into _build/eval[_<tab>]; return
    (path of the evaluated notebook, seconds)."""
    build.notedown.run = _run_in_kernel(kernel_name(tab, python))
    builder = _builder(tab)
    source = os.path.join('.', os.path.relpath(os.path.abspath(source), BOOK))
    target = os.path.join(builder.config.eval_dir,
                          os.path.splitext(source)[0] + '.ipynb')
    os.makedirs(os.path.dirname(target), exist_ok=True)
    builder._copy_resources(builder.config.src_dir, builder.config.eval_dir)
    os.environ['PYTHONWARNINGS'] = 'ignore'  # as d2lbook's eval does
    start = time.time()
    build._process_and_eval_notebook(_RunNow(timeout), source, target, True,
                                     builder.config)
    notebook = strip_widgets(nbformat.read(target, as_version=4))
    nbformat.write(notebook, target)
    # `d2lbook build html --tab all` merges the tabs again only when the
    # merged notebook is older than the pytorch one: drop it.
    merged = os.path.join(ROOT, '_build', 'eval_all',
                          os.path.relpath(target, builder.config.eval_dir))
    if os.path.exists(merged):
        os.remove(merged)
    return os.path.join(BOOK, target), time.time() - start


WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
# {tab: {source: seconds}} of the last evaluation of each notebook, in the
# book's output folder (_build/): for bench/book_cost.py and for people.
SECONDS_FILE = 'evaluation_seconds.json'


def record_seconds(tab, source, seconds):
    """Add one notebook's evaluation time to the book's SECONDS_FILE."""
    path = os.path.join(BOOK, _builder(tab).config.tgt_dir, SECONDS_FILE)
    recorded = read_seconds(path)
    recorded.setdefault(tab, {})[os.path.normpath(source)] = round(seconds, 1)
    with open(path, 'w') as f:
        json.dump(recorded, f, indent=1, sort_keys=True)


def read_seconds(path):
    """The {tab: {source: seconds}} of a SECONDS_FILE ({} if missing)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def strip_widgets(notebook):
    """Remove the outputs of live widgets and the saved widget state.

    A static page cannot run a widget: it would show "Loading widget..." or
    the widget's text repr. Cells that make widgets are not run (above);
    this removes any widget that other code displayed (a progress bar)."""
    for cell in notebook.cells:
        if cell.cell_type == 'code':
            cell.outputs = [out for out in cell.get('outputs', [])
                            if WIDGET_VIEW not in out.get('data', {})]
    notebook.metadata.pop('widgets', None)
    return notebook


def outdated_notebooks(tab=TABS[0]):
    """Sources whose evaluated notebook of `tab` is missing or older than
    the source or the library (d2lbook's own rule)."""
    notebooks, _ = _builder(tab)._get_updated_md_files()
    return sorted(src for src, _ in notebooks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('sources', nargs='*', help='Markdown files')
    parser.add_argument('--all', action='store_true')
    parser.add_argument('--tab', default='all', choices=TABS + ('all',),
                        help='the tab to evaluate (default: every tab)')
    parser.add_argument('--timeout', type=int, default=1200,
                        help='seconds one notebook may take in all')
    parser.add_argument('--book', default=ROOT,
                        help='the folder of the d2lbook project (config.ini)')
    args = parser.parse_args()
    global BOOK
    BOOK = os.path.abspath(args.book)
    if not os.path.exists(os.path.join(BOOK, 'config.ini')):
        parser.error(f'{BOOK} has no config.ini: not a d2lbook project')
    logging.basicConfig(level=logging.WARNING)
    tabs = TABS if args.tab == 'all' else (args.tab,)
    if BOOK != ROOT:  # the instructors' book has the PyTorch tab only
        tabs = (TABS[0],)
    jobs = []  # (tab, source)
    for tab in tabs:
        if args.sources:  # relative to where we are, not to the book
            sources = [os.path.relpath(os.path.abspath(s), BOOK)
                       for s in args.sources]
        elif args.all:
            sources = sorted(_builder(tab)._find_md_files()[0])
        else:
            sources = outdated_notebooks(tab)
        jobs += [(tab, source) for source in sources]
    print(f'{len(jobs)} notebooks to evaluate', flush=True)
    total = time.time()
    for i, (tab, source) in enumerate(jobs, 1):
        print(f'[{i}/{len(jobs)}] Evaluating {source} ({tab})', flush=True)
        try:
            _, seconds = evaluate(source, args.timeout, tab)
        except Exception as e:  # a failing cell, the time limit, no env
            print(f'FAILED {source} ({tab}): {e}', file=sys.stderr)
            sys.exit(1)
        record_seconds(tab, source, seconds)
        print(f'[{i}/{len(jobs)}] Evaluated {source} ({tab}) in '
              f'{seconds:.1f} s', flush=True)
    print(f'Evaluated {len(jobs)} notebooks in {time.time() - total:.1f} s')


if __name__ == '__main__':
    main()
