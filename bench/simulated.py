"""Part 1: schedulers compared on recorded learning curves, in simulated time.

Every run replays d2l/data/mlp_learning_curves.csv (512 configurations of
seven hyperparameters, 27 epochs each) through the book's event-driven
simulator (d2l.hpo.Simulator): no clock is read, so a method with a given
seed gives the same numbers on every machine and every run.

The methods are the book's own schedulers (d2l.hpo) and Syne Tune 0.16's
RandomSearch and ASHA, driven by the same simulator through the library's
adapter d2l.SyneTuneScheduler. All of them draw configurations in the order of
d2l.hpo.TableSearcher with the same seed: for one seed, every method sees the
same sequence of configurations, and differs only in how long it trains them.
TableSearcher draws without replacement, so no run sees a configuration
twice; the report says whether a run ran out of rows, and when.
"""
import math
import os
import random
import sys
import time

import numpy as np

from d2l import hpo as d2l

SOLUTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), 'solutions', 'chapter_hyperparameter_optimization')

TABLE = 'mlp_learning_curves.csv'
ETA, R_MIN = 3, 1  # rung levels 1, 3, 9, 27
# The budget is a fixed amount of compute: the worker time of this many full
# trainings of an average configuration, shared by the workers, as in the
# comparison of sec_asha_scratch. It lets random search train 32 of the 512
# rows; the busiest method starts far fewer than 512 trials (the report
# prints the largest number).
FULL_TRAININGS = 32
GRID_POINTS = 200  # time points of the best-error curves


def budget(table, n_workers):
    """Simulated seconds of one run with n_workers workers."""
    return FULL_TRAININGS * table.seconds.sum(axis=1).mean() / n_workers


# ------------------------------------------------- asynchronous Hyperband

def async_hyperband_class():
    """Asynchronous Hyperband with promotion: the reference solution of
    exercise 6 of sec_asha_scratch in the instructors' book (solutions/),
    read from its source, so that the algorithm is written once."""
    sys.path.insert(0, SOLUTIONS)
    try:
        import chapter_code
    finally:
        sys.path.remove(SOLUTIONS)
    namespace = {'d2l': d2l, 'math': math, 'random': random, 'np': np}
    chapter_code.define('asha-scratch', 'AsyncHyperbandScheduler',
                        namespace=namespace, folder=SOLUTIONS)
    return namespace['AsyncHyperbandScheduler']


# ------------------------------------------- Syne Tune through an adapter
# d2l.SyneTuneScheduler (sec_asha_scratch) drives a Syne Tune 0.16 scheduler
# with the simulator's calls, as the Tuner does: suggest() + on_trial_add,
# on_trial_result after every epoch, on_trial_remove after a STOP, else
# on_trial_complete. Its searcher takes the rows of the table in the order of
# d2l.hpo.TableSearcher(table, seed), given as points_to_evaluate.

class FinalResultOnly(d2l.HPOScheduler):
    """Hides should_stop of a d2l.SyneTuneScheduler from the simulator, which
    then reports only the final error of each job, as it does to d2l's
    BasicScheduler. The Syne Tune scheduler hears that error as the Tuner
    passes it on: on_trial_result, then on_trial_complete. Syne Tune's
    RandomSearch must then reproduce d2l's random search exactly."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def suggest(self):
        return self.scheduler.suggest()

    def update(self, config, error, info=None):
        self.scheduler.should_stop(config, config['max_epochs'], error)
        self.scheduler.update(config, error, info)


def syne_tune_random_search(seed):
    def make(space, points):
        from syne_tune.optimizer.baselines import RandomSearch
        return RandomSearch(space, metrics=['validation_error'],
                            do_minimize=True, random_seed=seed,
                            points_to_evaluate=points)
    return make


def syne_tune_asha(brackets, r_max, seed):
    def make(space, points):
        from syne_tune.optimizer.baselines import ASHA
        # Syne Tune draws the bracket of a new trial from NumPy's global
        # generator
        np.random.seed(seed)
        return ASHA(space, metric='validation_error', do_minimize=True,
                    time_attr='epoch', max_t=r_max, grace_period=R_MIN,
                    reduction_factor=ETA, brackets=brackets,
                    random_seed=seed, points_to_evaluate=points)
    return make


def methods(table, n_workers, max_time, syne_tune=True):
    """name -> function of the seed that returns a fresh scheduler."""
    r_max = table.max_epochs
    searcher = lambda seed: d2l.TableSearcher(table, seed)
    # The book's schedulers, as the chapter's comparison creates them
    made = {name: lambda s, name=name: d2l.scheduler_by_name(
                name, searcher(s), ETA)
            for name in ('random search', 'synchronous SH',
                         'synchronous Hyperband', 'ASHA (stopping)',
                         'ASHA (promotion)')}
    AsyncHyperband = async_hyperband_class()
    made['async Hyperband (promotion)'] = lambda s: AsyncHyperband(
        searcher(s), ETA, R_MIN, r_max, seed=s)
    if syne_tune:
        import logging
        logging.getLogger('syne_tune').setLevel(logging.ERROR)
        brackets = len(d2l.rung_levels(R_MIN, r_max, ETA))
        made.update({
            'Syne Tune RandomSearch': lambda s: FinalResultOnly(
                d2l.SyneTuneScheduler(searcher(s),
                                      syne_tune_random_search(s))),
            'Syne Tune ASHA': lambda s: d2l.SyneTuneScheduler(
                searcher(s), syne_tune_asha(1, r_max, s)),
            f'Syne Tune ASHA, brackets={brackets}': lambda s:
                d2l.SyneTuneScheduler(
                    searcher(s), syne_tune_asha(brackets, r_max, s)),
        })
    return made


def simulate(table, n_workers, seeds, syne_tune=True):
    """{method: [trace for each seed]}, and the seconds each method took."""
    max_time = budget(table, n_workers)
    simulator = d2l.Simulator(table, n_workers, max_time)
    traces, seconds = {}, {}
    for name, make in methods(table, n_workers, max_time, syne_tune).items():
        start = time.perf_counter()
        traces[name] = [simulator.run(make(seed)) for seed in seeds]
        seconds[name] = time.perf_counter() - start
    return traces, seconds


# ------------------------------------------------------------ aggregation

def quantiles(values, qs=(0.25, 0.5, 0.75)):
    """Quantiles with linear interpolation, where values may be infinite:
    a quantile that touches an infinite value is infinite."""
    values = np.sort(np.asarray(values, dtype=float))
    out = []
    for q in qs:
        pos = q * (len(values) - 1)
        lo, hi = values[math.floor(pos)], values[math.ceil(pos)]
        out.append(math.inf if math.isinf(hi) else
                   lo + (hi - lo) * (pos - math.floor(pos)))
    return out


def best_error_curves(traces, grid):
    """Array (seeds, grid points) of the best error found so far; 1.0
    before the first result."""
    return np.nan_to_num(np.array([t.best_error_at(grid) for t in traces]),
                         nan=1.0)


def summarize(traces, target, reference='random search'):
    """One row per method: time to reach target (quartiles, and the ratio of
    the medians to the reference method with its 95 % bootstrap interval,
    seeds resampled in pairs), runs that reached it, trials, utilization."""
    reference_times = [t.time_to_reach(target) for t in traces[reference]]
    rows = {}
    for name, runs in traces.items():
        times = [t.time_to_reach(target) for t in runs]
        q1, median, q3 = quantiles(times)
        util = quantiles([t.utilization for t in runs])
        ratio, low, high = d2l.ratio_interval(times, reference_times)
        rows[name] = {
            'time_q1': q1, 'time_median': median, 'time_q3': q3,
            'ratio': float(ratio), 'ratio_low': float(low),
            'ratio_high': float(high),
            'reached': sum(not math.isinf(x) for x in times) / len(times),
            'trials': float(np.mean([t.n_trials for t in runs])),
            'max_trials': max(t.n_trials for t in runs),
            # runs whose searcher ran out of rows, and the earliest time
            'out_of_rows': [t.out_of_configurations for t in runs
                            if t.out_of_configurations is not None],
            'utilization_q1': util[0], 'utilization_median': util[1],
            'utilization_q3': util[2],
            'final_error_median': d2l.target_error(runs, 0.5)}
    return rows


def rank_correlations(table, levels):
    """{epoch r: Spearman correlation of the errors after r epochs and after
    the last epoch, over all configurations of the table}."""
    final = table.errors[:, -1]
    return {r: float(d2l.rank_correlation(table.errors[:, r - 1], final))
            for r in levels}


def final_ranks_at(table, levels, top=5):
    """For the `top` configurations with the best final error: (final error,
    {r: rank among all configurations after r epochs})."""
    ranks = {r: d2l.ordinal_ranks(table.errors[:, r - 1]) for r in levels}
    final = table.errors[:, -1]
    return [(float(final[i]), {r: int(ranks[r][i]) for r in levels})
            for i in np.argsort(final, kind='stable')[:top]]


def fingerprint(traces):
    """A number that changes with any change of any trace (for checking
    that two runs are identical)."""
    import hashlib
    h = hashlib.sha256()
    for name in sorted(traces):
        for t in traces[name]:
            h.update(repr((name, t.times, t.best_errors, t.busy, t.n_jobs,
                           t.n_trials)).encode())
    return h.hexdigest()[:16]


# ------------------------------------------------------------ the report

def seconds_text(x):
    return 'never' if math.isinf(x) else f'{x:.0f}'


def plot(results, table, path):
    """Median and IQR of the best error over simulated time: the book's
    methods (top row), Syne Tune's against the book's ASHA (bottom row)."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    plt.rcParams['svg.hashsalt'] = 'd2l-bench'  # reproducible SVG ids
    names = list(next(iter(results.values()))['traces'])
    colors = {name: f'C{i}' for i, name in enumerate(names)}
    book = [n for n in names if not n.startswith('Syne Tune')]
    syne = [n for n in names if n.startswith('Syne Tune ASHA')]
    rows = [book] + ([['random search', 'ASHA (stopping)'] + syne]
                     if syne else [])
    fig, axes = plt.subplots(len(rows), len(results), squeeze=False,
                             figsize=(4 * len(results), 3.2 * len(rows)))
    for j, (n_workers, res) in enumerate(results.items()):
        grid = res['grid']
        for i, row in enumerate(rows):
            ax = axes[i][j]
            for name in row:
                low, median, high = np.percentile(best_error_curves(
                    res['traces'][name], grid), [25, 50, 75], axis=0)
                ax.plot(grid, median, color=colors[name], lw=1.3, label=name,
                        ls='--' if name.startswith('Syne') else '-')
                ax.fill_between(grid, low, high, color=colors[name],
                                alpha=0.1, step=None)
            ax.axhline(res['target'], color='k', lw=0.7, ls=':')
            ax.set_ylim(0.9 * table.errors.min(), 2.5 * table.errors.min())
            ax.set_xlim(0, grid[-1])
            ax.set_title(f'{n_workers} worker{"s" * (n_workers > 1)}',
                         fontsize=10)
            if i == len(rows) - 1:
                ax.set_xlabel('simulated time (seconds)')
            if j == 0:
                ax.set_ylabel('best validation error')
            if j == len(results) - 1:
                ax.legend(fontsize=7, loc='upper right')
    fig.tight_layout()
    fig.savefig(path, metadata={'Date': None})
    plt.close(fig)


def run(seeds, workers, figures_dir, syne_tune=True, log=print):
    """Run part 1; return (markdown text, figure paths, headline numbers)."""
    table = d2l.load_learning_curves(TABLE)
    start = time.perf_counter()
    results = {}
    for n_workers in workers:
        traces, seconds = simulate(table, n_workers, seeds, syne_tune)
        grid = np.linspace(0, budget(table, n_workers), GRID_POINTS)
        target = d2l.target_error(traces['random search'])
        results[n_workers] = {
            'traces': traces, 'seconds': seconds, 'grid': grid,
            'target': target, 'rows': summarize(traces, target)}
        log(f'  {n_workers} workers: {len(traces)} methods x {len(seeds)} '
            f'seeds in {sum(seconds.values()):.1f} s')
    elapsed = time.perf_counter() - start
    # The same seeds once more: the numbers must be identical.
    check = simulate(table, workers[0], seeds[:5], syne_tune)[0]
    again = simulate(table, workers[0], seeds[:5], syne_tune)[0]
    identical = fingerprint(check) == fingerprint(again)
    figure = f'{figures_dir}/simulated_best_error.svg'
    plot(results, table, figure)
    levels = d2l.rung_levels(R_MIN, table.max_epochs, ETA)[:-1]
    correlations = rank_correlations(table, range(1, table.max_epochs))
    text = report(results, table, seeds, elapsed, identical, syne_tune,
                  correlations, final_ranks_at(table, levels))
    return text, [figure], headline(results, correlations, levels)


def headline(results, correlations, levels):
    out = {}
    for n_workers, res in results.items():
        rows = res['rows']
        out[n_workers] = {name: {key: row[key] for key in (
            'ratio', 'ratio_low', 'ratio_high')} | {
                'utilization': row['utilization_median']}
            for name, row in rows.items()}
    out['rank_correlation'] = {r: correlations[r] for r in levels}
    return out


def ratio_text(row):
    if math.isinf(row['ratio']):
        return '-'
    high = 'inf' if math.isinf(row['ratio_high']) else f'{row["ratio_high"]:.2f}'
    return f'{row["ratio"]:.2f} [{row["ratio_low"]:.2f}, {high}]'


def time_to_target_tables(results):
    """One table per number of workers: time to target, ratio to random
    search, trials and utilization of every method."""
    lines = []
    for n_workers, res in results.items():
        lines += [f'#### {n_workers} worker{"s" * (n_workers > 1)}: target '
                  f'error {res["target"]:.3f}, budget '
                  f'{res["grid"][-1]:.0f} simulated s', '',
                  '| method | time to target: median (q1-q3), s | ratio to '
                  'RS [95 % interval] | runs reaching it | trials per run '
                  '(max) | utilization | final error (median) |',
                  '|:--|--:|--:|--:|--:|--:|--:|']
        for name, row in res['rows'].items():
            lines.append(
                f'| {name} | {seconds_text(row["time_median"])} '
                f'({seconds_text(row["time_q1"])}-'
                f'{seconds_text(row["time_q3"])}) | {ratio_text(row)}'
                f' | {row["reached"]:.0%} | {row["trials"]:.1f} '
                f'({row["max_trials"]}) | '
                f'{row["utilization_median"]:.0%} '
                f'({row["utilization_q1"]:.0%}-{row["utilization_q3"]:.0%}) | '
                f'{row["final_error_median"]:.3f} |')
        lines.append('')
    return lines


def syne_tune_text(results):
    """How the Syne Tune schedulers ran, and whether Syne Tune's
    RandomSearch reproduced the book's."""
    same = lambda r: [t.best_errors for t in r['traces']['random search']] \
        == [t.best_errors for t in r['traces']['Syne Tune RandomSearch']]
    return [
        'Syne Tune schedulers run through the library\'s '
        '`d2l.SyneTuneScheduler` (sec_asha_scratch): `suggest()` + '
        '`on_trial_add`, then per epoch `on_trial_result` (a `STOP` ends '
        'the job, followed by `on_trial_remove`), else '
        '`on_trial_complete`, as the `Tuner` calls them (RandomSearch '
        'hears only the final epoch, as d2l\'s random search does); '
        'configurations come as `points_to_evaluate` in the '
        'TableSearcher order, and NumPy\'s global generator (bracket '
        'choice) is seeded. With the same order of configurations, Syne '
        'Tune\'s RandomSearch must reproduce d2l\'s random search exactly; '
        'identical here: ' + ', '.join(
            f'{n} worker{"s" * (n > 1)}: ' + ('yes' if same(r) else 'NO')
            for n, r in results.items()) + '.', '']


def report(results, table, seeds, elapsed, identical, syne_tune,
           correlations, top_ranks):
    full = table.seconds.sum(axis=1)
    levels = d2l.rung_levels(R_MIN, table.max_epochs, ETA)
    names = ', '.join(table.configs[0])
    most = max(row['max_trials'] for res in results.values()
               for row in res['rows'].values())
    out = [f'{name} with {n} worker{"s" * (n > 1)}: {len(row["out_of_rows"])}'
           f' runs, the first at {min(row["out_of_rows"]):.0f} simulated s'
           for n, res in results.items() for name, row in res['rows'].items()
           if row['out_of_rows']]
    rows_text = ('no run ran out of rows' if not out else
                 'runs that ran out of rows: ' + '; '.join(out))
    lines = [
        '## 1. Methods on recorded learning curves (simulated, exact)', '',
        f'Table: `d2l/data/{TABLE}`, {len(table.configs)} '
        f'configurations x {table.max_epochs} epochs (hyperparameters: '
        f'{names}), data set: {table.dataset}; made by '
        '`tools/record_learning_curves.py mlp` (see its header lines). A full '
        f'training takes {full.min():.1f} to {full.max():.1f} s (mean '
        f'{full.mean():.1f} s); final errors '
        f'{table.errors[:, -1].min():.3f} (best) to '
        f'{np.median(table.errors[:, -1]):.3f} (median).', '',
        f'Setup: eta = {ETA}, rung levels '
        f'{", ".join(map(str, levels))}; '
        f'{len(seeds)} seeds ({seeds[0]}..{seeds[-1]}) per method; '
        f'budget = the worker time of {FULL_TRAININGS} average full trainings '
        'shared by the workers (simulated seconds per run: ' +
        ', '.join(f'{budget(table, n):.0f} s with {n}' for n in results) +
        '). All methods draw configurations in the order of '
        '`TableSearcher(table, seed)`, without replacement: the most trials '
        f'any run started is {most}, of {len(table.configs)} rows; '
        f'{rows_text}. The simulator '
        'checkpoints for free, starts trials instantly and decides instantly '
        '(see sec_asha_scratch).', '',
        f'All {sum(len(r["traces"]) for r in results.values()) * len(seeds)}'
        f' simulated runs took {elapsed:.1f} s of real time. Same seeds run '
        f'twice gave identical traces: {"yes" if identical else "NO"}.', '',
        '### Do early errors predict final errors?', '',
        'Spearman rank correlation, over all configurations of the table, '
        'between the validation errors after r epochs and after the last '
        'epoch (`d2l.rank_correlation`). Rung levels in bold.', '',
        '| epoch r | ' + ' | '.join(
            f'**{r}**' if r in levels else str(r) for r in correlations)
        + ' |', '|:--|' + '--:|' * len(correlations),
        '| rank correlation | ' + ' | '.join(
            f'{c:.2f}' for c in correlations.values()) + ' |', '',
        'The five configurations with the best final error, and their ranks '
        f'among all {len(table.configs)} after each rung level below the top:',
        '']
    lines += [f'- final error {error:.3f}: rank ' + ', '.join(
        f'{rank} after epoch {r}' for r, rank in ranks.items())
        for error, ranks in top_ranks]
    lines += [
        '', '### Time to target',
        '', '![best error against simulated time](figures/simulated_best_error.svg)',
        '',
        'Lines: median over the seeds of the best validation error found so '
        'far (1.0 before the first result); bands: 25-75 % quantiles (d2l '
        'methods only); dotted: the target error. Dashed: Syne Tune.', '',
        'Target error: the error that random search reaches by the end of the '
        'budget in at least 3 of 4 runs (`d2l.target_error`: the 75 % '
        'quantile of its final errors, rounded up to one of them). Time to target: quartiles over the seeds '
        '("never" if more than that quantile of runs never reached it); '
        'ratio: median time of the method divided by that of random search, '
        'with a 95 % bootstrap interval (`d2l.ratio_interval`: 1,000 '
        'resamples of the seeds, the two methods resampled together, seed by '
        'seed; "inf" where more than half of a resample never reached the '
        'target). Utilization: busy time / (workers x wall time), median '
        '(quartiles).', '']
    lines += time_to_target_tables(results)
    if syne_tune:
        lines += syne_tune_text(results)
    lines += [
        '"async Hyperband (promotion)" is the reference solution of the '
        'exercise on asynchronous Hyperband in the instructors\' book '
        '(`solutions/chapter_hyperparameter_optimization/asha-scratch.md`): '
        'one `PromotionASHAScheduler` per bracket.', '']
    return '\n'.join(lines)
