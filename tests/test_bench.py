"""The benchmark's own code (bench/): its aggregation of simulated runs
(quantiles, target error, time to target, ratios), its Syne Tune adapter
and asynchronous Hyperband, and the parsing of the book build's log.
The schedulers and the simulator themselves are tested in
test_simulation.py and test_asha.py. No test here looks at a clock."""
import math
import sys

import numpy as np
import pytest

from chapter import ROOT

sys.path.append(ROOT)
from bench import book_cost, simulated  # noqa: E402
from d2l import hpo as d2l  # noqa: E402


def trace(points, n_workers=1, max_time=100.0, busy=None):
    """A SimulationTrace with the given (time, error) results."""
    t = d2l.SimulationTrace(n_workers, max_time)
    for time, error in points:
        t.record(time, error)
    t.busy = list(busy) if busy is not None else [max_time] * n_workers
    return t


def tiny_table(errors, seconds):
    return d2l.LearningCurves([{'x': i} for i in range(len(errors))],
                              errors, seconds, dataset='hand-made')


# ------------------------------------------------------------ aggregation

def test_quantiles_interpolate_and_keep_infinity():
    assert simulated.quantiles([4, 1, 3, 2]) == [1.75, 2.5, 3.25]
    assert simulated.quantiles([7.0], (0.5,)) == [7.0]
    # A quantile between a finite and an infinite value is infinite ...
    assert simulated.quantiles([1, 2, math.inf, math.inf]) == [
        1.75, math.inf, math.inf]
    # ... but not one between finite values.
    assert simulated.quantiles([1, 2, 3, math.inf], (0.5,)) == [2.5]


def test_target_is_reached_by_three_of_four_runs():
    runs = [trace([(1, 0.5), (2, 0.3)]), trace([(1, 0.1)]),
            trace([(5, 0.2)]), trace([(3, 0.4)])]
    # finals 0.3, 0.1, 0.2, 0.4: the 75 % quantile, rounded up to a final
    assert d2l.target_error(runs) == 0.4
    assert d2l.target_error(runs, 0.5) == 0.3  # the upper of the middle two
    assert d2l.target_error(runs[:3], 0.5) == 0.2
    assert d2l.target_error([trace([])]) == 1.0  # no result at all
    finals = list(np.random.default_rng(0).uniform(size=50))
    target = d2l.target_error([trace([(1, f)]) for f in finals])
    assert target in finals and sum(f <= target for f in finals) >= 37.5


def test_best_error_curves_count_one_before_the_first_result():
    curves = simulated.best_error_curves(
        [trace([(2, 0.5), (4, 0.25)]), trace([(1, 0.75)])],
        np.array([0.0, 1.0, 3.0, 5.0]))
    assert curves.tolist() == [[1.0, 1.0, 0.5, 0.25], [1.0, 0.75, 0.75, 0.75]]


def test_summary_times_ratios_and_utilization():
    target = 0.2
    runs = {
        'random search': [trace([(10, 0.2)]), trace([(20, 0.1)]),
                          trace([(30, 0.15)])],
        'fast': [trace([(5, 0.1)]), trace([(10, 0.2)]), trace([(1, 0.9)])],
        'never': [trace([(1, 0.5)], n_workers=2, busy=[50, 100])] * 3,
    }
    rows = simulated.summarize(runs, target)
    rs, fast, never = rows['random search'], rows['fast'], rows['never']
    assert (rs['time_q1'], rs['time_median'], rs['time_q3']) == (15, 20, 25)
    assert rs['ratio'] == 1 and rs['reached'] == 1
    # times 5, 10, inf: median 10, so half the time of random search
    assert fast['time_median'] == 10 and fast['ratio'] == 0.5
    assert fast['time_q3'] == math.inf
    assert fast['reached'] == pytest.approx(2 / 3)
    assert never['time_median'] == math.inf and never['ratio'] == math.inf
    assert never['reached'] == 0
    assert never['utilization_median'] == 0.75  # 150 of 2 x 100 s
    assert rs['final_error_median'] == 0.15
    assert fast['trials'] == 0  # hand-made traces started no trial


# ------------------------------------- the methods on hand-made curves

def obvious_winner_table(n=256, epochs=9):
    """Every eighth configuration is a winner, with error 0.1 at every
    epoch; the others are worse and keep their order, with no ties among
    them. With 32 winners among 256 rows, random search, which draws 32 rows
    without replacement, finds one in almost every run; epochs take 1 s.
    Nine epochs: with eta = 3, Syne Tune's rung levels are the book's only
    when r_max is a power of eta (sec_asha_scratch)."""
    errors = [[0.1] * epochs if i % 8 == 0 else
              [0.5 + 0.001 * i - 0.01 * t for t in range(epochs)]
              for i in range(n)]
    return tiny_table(errors, [[1.0] * epochs] * n)


def test_every_method_runs_and_finds_the_winner():
    table = obvious_winner_table()
    traces, _ = simulated.simulate(table, n_workers=1, seeds=range(6))
    assert set(traces) >= {'random search', 'synchronous SH',
                           'synchronous Hyperband', 'ASHA (stopping)',
                           'ASHA (promotion)', 'async Hyperband (promotion)',
                           'Syne Tune RandomSearch', 'Syne Tune ASHA'}
    target = d2l.target_error(traces['random search'])
    assert target == 0.1
    rows = simulated.summarize(traces, target)
    # Random search needs whole trainings; the multi-fidelity methods see
    # the winner's error after its first epoch (the stopping-type ASHA of the
    # book and of Syne Tune, which let the first trials at a rung continue,
    # less clearly so).
    stopping = ('ASHA (stopping)', 'Syne Tune ASHA')
    for name, row in rows.items():
        assert row['reached'] == 1, name
        if 'random' not in name.lower():
            # Hyperband also runs brackets that train new trials for
            # longer, hedging against a poor first epoch.
            lenient = (name in stopping or name.startswith('Syne')
                       or 'Hyperband' in name)
            assert row['ratio'] < (0.9 if lenient else 0.5), name
    # The book's stopping rule is Syne Tune's: the same runs.
    assert simulated.fingerprint({'x': traces['ASHA (stopping)']}) == \
        simulated.fingerprint({'x': traces['Syne Tune ASHA']})


def test_syne_tune_random_search_reproduces_the_books():
    table = d2l.load_learning_curves(simulated.TABLE)
    traces, _ = simulated.simulate(table, n_workers=4, seeds=[0, 1])
    book, syne = traces['random search'], traces['Syne Tune RandomSearch']
    assert [t.times for t in book] == [t.times for t in syne]
    assert [t.best_errors for t in book] == [t.best_errors for t in syne]


def test_same_seeds_same_numbers_other_seeds_differ():
    table = d2l.load_learning_curves(simulated.TABLE)
    first = simulated.simulate(table, 4, seeds=[3, 4])[0]
    again = simulated.simulate(table, 4, seeds=[3, 4])[0]
    other = simulated.simulate(table, 4, seeds=[5, 6])[0]
    assert simulated.fingerprint(first) == simulated.fingerprint(again)
    for name in first:
        assert simulated.fingerprint({name: first[name]}) != \
            simulated.fingerprint({name: other[name]}), name


def test_syne_tune_asha_stops_trials():
    table = d2l.load_learning_curves(simulated.TABLE)
    traces, _ = simulated.simulate(table, 1, seeds=[0])
    # Stopping trials early lets ASHA start more trials than random search.
    assert traces['Syne Tune ASHA'][0].n_trials > \
        1.5 * traces['random search'][0].n_trials


def test_async_hyperband_is_the_checked_reference_solution():
    """bench runs the instructors' book's asynchronous Hyperband, which
    passes the self-check of its exercise (tests/test_exercises.py)."""
    from d2l.exercises import check_exercise
    AsyncHyperband = simulated.async_hyperband_class()
    assert AsyncHyperband.__name__ == 'AsyncHyperbandScheduler'
    assert check_exercise('asha-scratch', 6, AsyncHyperband, verbose=False)


# ------------------------------------------------------- the book's cost

def test_notebook_times_from_the_evaluation_record(tmp_path):
    import json
    assert book_cost.notebook_seconds(str(tmp_path)) == {}
    (tmp_path / '_build').mkdir()
    (tmp_path / '_build' / 'evaluation_seconds.json').write_text(json.dumps(
        {'pytorch': {'chapter_hyperparameter_optimization/sh-async.md': 187.0},
         'mxnet': {'index.md': 3601.5}}))
    assert book_cost.notebook_seconds(str(tmp_path)) == {
        'chapter_hyperparameter_optimization/sh-async.md (pytorch)': 187.0,
        'index.md (mxnet)': 3601.5}
