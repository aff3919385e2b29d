"""Part 3 (optional, --book): what building the book costs.

Copies the repository (the files git tracks or would track, with their
modification times) to a temporary folder and runs `make html` there twice
with the existing environment (VENV=...): cold (no _build, every notebook is
evaluated) and warm (everything cached). Reports both wall times and each
notebook's evaluation time, which tools/evaluate_notebooks.py (it evaluates
them one at a time) writes to _build/evaluation_seconds.json.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'tools'))
import evaluate_notebooks  # noqa: E402


def notebook_seconds(folder):
    """{'notebook (tab)': seconds} of the notebooks evaluated in a build of
    the book in `folder`."""
    recorded = evaluate_notebooks.read_seconds(os.path.join(
        folder, '_build', evaluate_notebooks.SECONDS_FILE))
    return {f'{source} ({tab})': seconds
            for tab, sources in recorded.items()
            for source, seconds in sources.items()}


def repository_files(repo):
    """Paths (relative to repo) of the tracked and untracked, not ignored
    files."""
    out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'],
                         cwd=repo, capture_output=True, text=True, check=True)
    return [p for p in out.stdout.split('\0')
            if p and os.path.isfile(os.path.join(repo, p))]


def copy_repository(repo, target):
    for path in repository_files(repo):
        os.makedirs(os.path.dirname(os.path.join(target, path)), exist_ok=True)
        shutil.copy2(os.path.join(repo, path), os.path.join(target, path))


def make_html(folder, venv, dry_run):
    """Run `make html` in folder; return (seconds, return code, log)."""
    venv = os.path.abspath(venv)
    # The copy must neither rebuild the shared environment nor reinstall
    # MathJax into it: -o treats these targets as up to date.
    cmd = ['make', 'html', f'VENV={venv}', '-o', f'{venv}/.ready',
           '-o', f'{venv}/mathjax/static/mathjax/tex-mml-chtml.js']
    # The environments of the other tabs are shared the same way: linked
    # into the copy, where tools/evaluate_notebooks.py looks for them.
    for tab in ('tensorflow', 'mxnet'):
        shared = os.path.join(os.path.dirname(venv), f'.venv-{tab}')
        if os.path.isdir(shared):
            link = os.path.join(folder, f'.venv-{tab}')
            if not os.path.lexists(link):
                os.symlink(shared, link)
            cmd += ['-o', f'.venv-{tab}/.ready']
    if dry_run:
        cmd.append('-n')
    env = dict(os.environ, PYTHONPATH=folder)  # the copy's d2l, not repo's
    env.setdefault('D2L_HPO_PROFILE', 'cpu')
    env.pop('MPLBACKEND', None)  # as tests/test_book_build.py
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=folder, env=env, capture_output=True,
                            text=True)
    return (time.perf_counter() - start, result.returncode,
            result.stdout + result.stderr)


def run(repo, venv, dry_run=False, keep=False, log=print):
    """Part 3: returns (markdown text, figure paths, headline numbers)."""
    folder = tempfile.mkdtemp(prefix='d2l-bench-book-')
    builds, per_notebook = [], {}
    try:
        copy_repository(repo, folder)
        for label in ('cold', 'warm'):
            log(f'  make html ({label}{", dry run" if dry_run else ""}) '
                f'in {folder} ...')
            seconds, code, text = make_html(folder, venv, dry_run)
            builds.append((label, seconds, code, text))
            if label == 'cold':
                per_notebook = notebook_seconds(folder)
            with open(os.path.join(folder, f'make_html_{label}.log'), 'w') as f:
                f.write(text)
            if code != 0:
                log(text[-3000:])
                break
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return report(builds, per_notebook, dry_run, folder if keep else None), \
        [], {label: seconds for label, seconds, _, _ in builds}


def report(builds, per_notebook, dry_run, kept):
    lines = ['## 3. The book\'s cost: `make html`', '']
    if dry_run:
        lines += ['Dry run (`make -n`): commands printed, nothing built; '
                  'the times below are not build times.', '']
    lines += ['A copy of the repository (git\'s tracked and untracked, not '
              'ignored files) in a temporary folder, built twice with the '
              'existing environment: cold (no `_build`: every notebook is '
              'evaluated) and warm (nothing changed). D2L_HPO_PROFILE='
              f'{os.environ.get("D2L_HPO_PROFILE", "cpu")}. Other caches (data '
              'files, Python bytecode of the environment) were warm in both.',
              '', '| build | wall time | exit code |', '|:--|--:|--:|']
    for label, seconds, code, _ in builds:
        lines.append(f'| {label} | {seconds:.0f} s ({seconds / 60:.1f} min) '
                     f'| {code} |')
    lines += ['', 'Evaluation time of each notebook in the cold build '
              '(one at a time):', '']
    if per_notebook:
        lines += ['| notebook | seconds |', '|:--|--:|']
        for path, s in sorted(per_notebook.items(), key=lambda kv: -kv[1]):
            lines.append(f'| `{path}` | {s} |')
        lines.append(f'| total | {sum(per_notebook.values()):.1f} |')
    else:
        lines.append('(no notebook was evaluated)')
    if dry_run and builds:
        lines += ['', 'What `make html` would run (cold):', '', '```',
                  builds[0][3].strip(), '```']
    if builds and builds[-1][2] != 0:
        lines += ['', 'The build failed; the end of its log:', '', '```',
                  builds[-1][3][-2000:], '```']
    if kept:
        lines += ['', f'Build folder kept: `{kept}`.']
    lines.append('')
    return '\n'.join(lines)
