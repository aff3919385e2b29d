"""Benchmarks of the chapter's HPO methods; writes bench/REPORT.md.

    python bench/run.py                  # parts 1 and 2 (about 4 minutes)
    python bench/run.py --no-live        # part 1 only (seconds)
    python bench/run.py --book           # also part 3: make html cold + warm
    python bench/run.py --book --book-dry-run --no-live   # check part 3

1. simulated: the methods on the recorded learning curves (exact, seeded);
2. live: Syne Tune with real training processes (--live, the default);
3. book: the wall time of `make html`, cold and warm (--book).

Every figure and number in the report comes from this invocation; parts not
run say so. Benchmarks report figures; nothing here asserts a time.
"""
import argparse
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.append(ROOT)  # `bench` as a package; d2l from PYTHONPATH/the venv

from bench import simulated  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=50,
                   help='seeds per method in part 1 (default 50)')
    p.add_argument('--workers', type=int, nargs='+', default=[1, 4, 16],
                   help='simulated workers in part 1 (default 1 4 16)')
    p.add_argument('--no-syne-tune', dest='syne_tune', action='store_false',
                   help='part 1 without Syne Tune\'s schedulers')
    p.add_argument('--live', action=argparse.BooleanOptionalAction,
                   default=True, help='run part 2 (default: yes)')
    p.add_argument('--live-seconds', type=float, default=60,
                   help='seconds per live experiment (default 60; with 40 s, '
                   'ASHA had stopped no trial yet)')
    p.add_argument('--book', action='store_true',
                   help='run part 3: make html cold and warm (6-10 minutes)')
    p.add_argument('--book-dry-run', action='store_true',
                   help='part 3 with `make -n`: checks the setup, builds '
                   'nothing')
    p.add_argument('--venv', default=os.path.join(ROOT, '.venv'),
                   help='environment for part 3 (default .venv)')
    p.add_argument('--output', default=os.path.join(HERE, 'REPORT.md'))
    return p.parse_args(argv)


def git_state():
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                                cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain'], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return commit + (' with uncommitted changes' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def versions():
    import numpy
    out = [f'Python {platform.python_version()}', f'numpy {numpy.__version__}']
    for name in ('syne_tune', 'torch'):
        try:
            module = __import__(name)
            out.append(f'{name} {module.__version__}')
        except Exception:  # not installed, or fails to import
            pass
    from d2l import hpo
    where = os.path.relpath(hpo.__file__, ROOT)
    if where.startswith('..'):  # not this repository's library
        where = hpo.__file__
    out.append(f'd2l.hpo from `{where}`')
    return ', '.join(out)


def percent(x):
    return '-' if x is None else f'{x:.0%}'


def headline_text(numbers):
    """The key figures of all parts that ran, as a list of lines."""
    lines = ['## Headline numbers', '']
    sim = dict(numbers.get('simulated', {}))
    correlations = sim.pop('rank_correlation', None)
    for n_workers, rows in sim.items():
        ratios = ', '.join(
            f'{name} {simulated.ratio_text(rows[name])}' for name in
            ('synchronous SH', 'ASHA (stopping)', 'ASHA (promotion)',
             'Syne Tune ASHA') if name in rows)
        lines.append(
            f'- Simulated, {n_workers} worker{"s" * (n_workers > 1)}: time to '
            f'target relative to random search [95 % interval]: {ratios}; '
            f'utilization synchronous SH '
            f'{percent(rows["synchronous SH"]["utilization"])}, synchronous '
            f'Hyperband {percent(rows["synchronous Hyperband"]["utilization"])}'
            f', ASHA {percent(rows["ASHA (promotion)"]["utilization"])}.')
    if correlations:
        lines.append('- Rank correlation of the errors after r epochs with '
                     'the final errors: ' + ', '.join(
                         f'r = {r}: {c:.2f}' for r, c in correlations.items())
                     + '.')
    for name, row in numbers.get('live', {}).items():
        expected = row['expected_epochs_after_stop']
        lines.append(
            f'- Live, {name} s: utilization {percent(row["utilization"])}, '
            f'starting processes {percent(row["starting_share"])} of worker '
            'time' + (f', start-up (launch to first epoch) median '
                      f'{row["startup_median_s"]:.2f} s per trial'
                      if row.get('startup_median_s') is not None else '') + ('' if name.startswith('RS') else
                      f'; expected epochs trained after a stop decision '
                      f'{expected:.2f}, stopped trials {row["stopped"]}')
            + f'; scheduler: on_trial_result median '
            f'{row["on_trial_result_ms_median"]:.3f} ms, suggest '
            f'{row["suggest_ms_median"]:.3f} ms.')
    if 'book' in numbers:
        lines.append('- Book: ' + ', '.join(
            f'make html {label} {seconds:.0f} s'
            for label, seconds in numbers['book'].items()) + '.')
    return lines + ['']


def main(argv=None):
    args = parse_args(argv)
    figures = os.path.join(os.path.dirname(args.output), 'figures')
    os.makedirs(figures, exist_ok=True)
    started = time.time()
    load = os.getloadavg()
    sections, numbers = [], {}

    print(f'Part 1: simulation, {args.seeds} seeds, workers {args.workers}')
    start = time.perf_counter()
    text, _, numbers['simulated'] = simulated.run(
        list(range(args.seeds)), args.workers, figures, args.syne_tune)
    sections.append(text)
    print(f'  done in {time.perf_counter() - start:.1f} s')

    if args.live:
        from bench import live
        print(f'Part 2: live Syne Tune runs, {args.live_seconds:.0f} s each')
        text, _, numbers['live'] = live.run(seconds=args.live_seconds,
                                            figures_dir=figures)
        sections.append(text)
    else:
        sections.append('## 2. Live Syne Tune runs\n\nNot run in this '
                        'invocation (pass `--live`).\n')

    if args.book or args.book_dry_run:
        from bench import book_cost
        print('Part 3: make html, cold and warm')
        text, _, numbers['book'] = book_cost.run(ROOT, args.venv,
                                                 args.book_dry_run)
        sections.append(text)
    else:
        sections.append('## 3. The book\'s cost\n\nNot run in this invocation'
                        ' (pass `--book`, or `make bench BOOK=1`; 6-10 '
                        'minutes).\n')

    command = ''.join(' ' + a for a in (sys.argv[1:] if argv is None
                                         else argv))
    header = [
        '# Benchmarks of the chapter "Hyperparameter Optimization"', '',
        'Written by `bench/run.py` (`make bench`); every number and figure '
        'comes from the run described here. Benchmarks report measurements; '
        'the tests do not assert times.', '',
        f'- Run: {time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(started))}'
        f', {time.time() - started:.0f} s in all; command: '
        f'`python bench/run.py{command}`',
        f'- Machine: {platform.machine()}, {os.cpu_count()} CPU cores, '
        f'{platform.system()} {platform.release()}; load average at the start '
        f'{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min), shared '
        'with other jobs',
        f'- Software: {versions()}; repository at {git_state()}', ''
    ] + headline_text(numbers)
    with open(args.output, 'w') as f:
        f.write('\n'.join(header) + '\n' + '\n'.join(sections))
    print(f'Wrote {os.path.relpath(args.output)}')
    return numbers


if __name__ == '__main__':
    main()
