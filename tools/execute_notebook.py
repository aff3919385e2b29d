"""Execute one chapter section as a notebook of one tab, the way d2lbook does.

    python tools/execute_notebook.py chapter_hyperparameter_optimization/sh-async.md \
        [--tab pytorch] [--timeout 600] [--output out.ipynb]

The Markdown is read and the tab selected with d2lbook's own functions, then
the notebook runs in a fresh kernel with a hard limit on its total time. It
exits non-zero when a cell raises or the limit is reached.
"""
import argparse
import os
import sys
import time

import nbclient
import nbformat
from d2lbook import notebook


def tab_notebook(md_path, tab='pytorch', default_tab='pytorch'):
    """The notebook of `md_path` as d2lbook evaluates it for `tab`."""
    with open(md_path, encoding='utf-8') as f:
        nb = notebook.read_markdown(f.read())
    nb = notebook.split_markdown_cell(nb)
    nb = notebook.get_tab_notebook(nb, tab, default_tab)
    if nb is None:
        raise ValueError(f'{md_path} has no cell for the tab {tab!r}')
    return nb


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def execute(md_path, tab='pytorch', timeout=600, output=None):
    """Run the notebook; return (notebook, seconds).

    It runs in _build/execute/<chapter>/, as d2lbook runs it in _build/eval/,
    so that the files a notebook writes (training scripts) stay out of the
    sources."""
    nb = tab_notebook(md_path, tab)
    chapter = os.path.basename(os.path.dirname(os.path.abspath(md_path)))
    workdir = os.path.join(ROOT, '_build', 'execute', chapter)
    os.makedirs(workdir, exist_ok=True)
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name='python3',
        resources={'metadata': {'path': workdir}})
    start = time.time()
    # The per-cell timeout of nbclient is not a per-notebook limit: an alarm
    # on the whole run is.
    import signal

    def _too_long(signum, frame):
        raise TimeoutError(f'{md_path} ran longer than {timeout} s')
    signal.signal(signal.SIGALRM, _too_long)
    signal.alarm(int(timeout))
    try:
        client.execute()
    finally:
        signal.alarm(0)
        if output:
            nbformat.write(nb, output)
    return nb, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('markdown')
    parser.add_argument('--tab', default='pytorch')
    parser.add_argument('--timeout', type=int, default=600)
    parser.add_argument('--output')
    args = parser.parse_args()
    try:
        _, seconds = execute(args.markdown, args.tab, args.timeout, args.output)
    except (nbclient.exceptions.CellExecutionError, TimeoutError) as e:
        print(e, file=sys.stderr)
        sys.exit(1)
    print(f'{args.markdown}: executed in {seconds:.1f} s')


if __name__ == '__main__':
    main()
