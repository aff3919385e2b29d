"""Evaluate the book's notebooks into _build/eval, one at a time.

    python tools/evaluate_notebooks.py            # the outdated notebooks
    python tools/evaluate_notebooks.py --all      # every notebook
    python tools/evaluate_notebooks.py chapter_hyperparameter_optimization/sh-async.md

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
"""
import argparse
import logging
import os
import signal
import sys
import time

from d2lbook import build, config as d2lbook_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _builder():
    os.chdir(ROOT)
    return build.Builder(d2lbook_config.Config())


def evaluate(source, timeout=1200):
    """Evaluate one Markdown source into _build/eval; return
    (path of the evaluated notebook, seconds)."""
    builder = _builder()
    source = os.path.join('.', os.path.relpath(os.path.abspath(source), ROOT))
    target = os.path.join(builder.config.eval_dir,
                          os.path.splitext(source)[0] + '.ipynb')
    os.makedirs(os.path.dirname(target), exist_ok=True)
    builder._copy_resources(builder.config.src_dir, builder.config.eval_dir)
    os.environ['PYTHONWARNINGS'] = 'ignore'  # as d2lbook's eval does
    start = time.time()
    build._process_and_eval_notebook(_RunNow(timeout), source, target, True,
                                     builder.config)
    return os.path.join(ROOT, target), time.time() - start


def outdated_notebooks():
    """Sources whose evaluated notebook is missing or older than the source
    or the library (d2lbook's own rule)."""
    notebooks, _ = _builder()._get_updated_md_files()
    return sorted(src for src, _ in notebooks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('sources', nargs='*', help='Markdown files')
    parser.add_argument('--all', action='store_true')
    parser.add_argument('--timeout', type=int, default=1200,
                        help='seconds one notebook may take in all')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.sources:
        sources = args.sources
    elif args.all:
        sources = sorted(build.Builder(
            d2lbook_config.Config())._find_md_files()[0])
    else:
        sources = outdated_notebooks()
    print(f'{len(sources)} notebooks to evaluate', flush=True)
    total = time.time()
    for i, source in enumerate(sources, 1):
        print(f'[{i}/{len(sources)}] Evaluating {source}', flush=True)
        try:
            _, seconds = evaluate(source, args.timeout)
        except Exception as e:  # a failing cell or the time limit
            print(f'FAILED {source}: {e}', file=sys.stderr)
            sys.exit(1)
        print(f'[{i}/{len(sources)}] Evaluated {source} in {seconds:.1f} s',
              flush=True)
    print(f'Evaluated {len(sources)} notebooks in {time.time() - total:.1f} s')


if __name__ == '__main__':
    main()
