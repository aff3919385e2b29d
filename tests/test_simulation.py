"""The learning-curve table, its searcher and the event-driven simulator of
asha-scratch.md (d2l.hpo), with failed results (NaN, +-inf)."""
import math
import os

import numpy as np
import pytest

from d2l import hpo as d2l

ETA, R_MIN = 2, 1


@pytest.fixture(scope='module')
def table():
    return d2l.load_learning_curves()


@pytest.fixture(scope='module')
def mlp_table():
    return d2l.load_learning_curves('mlp_learning_curves.csv')


def recording_script():
    """tools/record_learning_curves.py as a module (the space and seed of
    each table are fixed there)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), 'tools', 'record_learning_curves.py')
    spec = importlib.util.spec_from_file_location('record', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_table(errors, seconds):
    """Configurations {'x': 0}, {'x': 1}, ... with the given curves."""
    return d2l.LearningCurves([{'x': i} for i in range(len(errors))],
                              errors, seconds, dataset='hand-made')


class ScriptedScheduler(d2l.HPOScheduler):
    """Hands out the given jobs in order, then None; logs every call."""

    def __init__(self, jobs):
        self.jobs = [dict(job) for job in jobs]
        self.log = []

    def suggest(self):
        return self.jobs.pop(0) if self.jobs else None

    def update(self, config, error, info=None):
        self.log.append(('update', dict(config), error))


class ScriptedStopper(ScriptedScheduler):
    """A stopping-type scheduler that stops every job after `stop_at`."""

    def __init__(self, jobs, stop_at):
        super().__init__(jobs)
        self.stop_at = stop_at

    def decides_every_epoch(self):
        return True

    def should_stop(self, config, epoch, error):
        self.log.append(('report', config['x'], epoch, error))
        return epoch >= self.stop_at


def schedulers(table, seed):
    r_max = table.max_epochs
    searcher = lambda: d2l.TableSearcher(table, seed)
    made = {
        'random search': d2l.BasicScheduler(searcher()),
        'synchronous SH': d2l.SuccessiveHalvingScheduler(
            searcher(), eta=ETA, r_min=R_MIN, r_max=r_max),
        'ASHA (promotion)': d2l.PromotionASHAScheduler(
            searcher(), ETA, R_MIN, r_max),
        'ASHA (stopping)': d2l.StoppingASHAScheduler(
            searcher(), ETA, R_MIN, r_max),
    }
    if hasattr(d2l, 'HyperbandScheduler'):
        made['Hyperband'] = d2l.HyperbandScheduler(
            searcher(), eta=ETA, r_min=R_MIN, r_max=r_max)
    return made


def as_tuple(trace):
    return (trace.times, trace.best_errors, trace.busy, trace.n_jobs,
            trace.n_trials)


# ------------------------------------------------------------- the table

def test_shipped_table(table):
    assert len(table.configs) >= 48
    assert table.max_epochs == 8
    assert table.dataset  # the file says which data set it used
    assert table.errors.shape == table.seconds.shape == (
        len(table.configs), 8)
    assert ((0 <= table.errors) & (table.errors <= 1)).all()
    assert (table.seconds > 0).all()
    for config in table.configs:
        assert set(config) == {'learning_rate', 'batch_size'}
        assert 1e-3 <= config['learning_rate'] <= 1
        assert isinstance(config['batch_size'], int)
        assert 8 <= config['batch_size'] <= 128
    # Some configurations learn, some do not.
    assert table.errors[:, -1].min() < 0.2 < table.errors[:, -1].max()


def test_shipped_file_has_a_header():
    path = os.path.join(os.path.dirname(d2l.__file__), 'data',
                        'lenet_learning_curves.csv')
    with open(path) as f:
        header = [line for line in f if line.startswith('#')]
    text = ''.join(header)
    for key in ('dataset:', 'date:', 'machine:', 'command:'):
        assert key in text


def test_load_from_a_path(tmp_path):
    path = tmp_path / 'curves.csv'
    path.write_text('# dataset: toy\n'
                    'config_id,lr,bs,epoch,validation_error,epoch_seconds\n'
                    '0,0.5,16,1,0.9,2.0\n0,0.5,16,2,0.8,3.0\n'
                    '1,0.25,32,1,0.7,1.0\n1,0.25,32,2,0.6,1.5\n')
    curves = d2l.load_learning_curves(str(path))
    assert curves.dataset == 'toy'
    assert curves.configs == [{'lr': 0.5, 'bs': 16}, {'lr': 0.25, 'bs': 32}]
    assert curves.errors.tolist() == [[0.9, 0.8], [0.7, 0.6]]
    assert curves.seconds.tolist() == [[2.0, 3.0], [1.0, 1.5]]
    assert curves.row({'bs': 32, 'lr': 0.25, 'max_epochs': 2}) == 1
    with pytest.raises(KeyError):
        curves.row({'lr': 0.1, 'bs': 32})


def test_mlp_table_is_the_recorded_sample_of_its_space(mlp_table):
    # At least 256 configurations of at least 4 hyperparameters, 27 epochs:
    # exactly the configurations that the recording script draws from the
    # space and seed fixed in it.
    record = recording_script()
    spec = record.TABLES['mlp']
    assert len(mlp_table.configs) == spec['num_configs'] >= 256
    assert mlp_table.max_epochs == spec['max_epochs'] >= 27
    assert len(spec['space']) >= 4
    expected = record.sample_configurations(spec['space'],
                                            spec['num_configs'], spec['seed'])
    for config, drawn in zip(mlp_table.configs, expected):
        assert set(config) == set(drawn)
        for name, value in drawn.items():
            assert config[name] == pytest.approx(value, rel=1e-5), name
    assert ((0 <= mlp_table.errors) & (mlp_table.errors <= 1)).all()
    assert (mlp_table.seconds > 0).all()
    assert mlp_table.dataset
    # Learning curves cross: the order after one epoch is not the final one.
    assert d2l.rank_correlation(mlp_table.errors[:, 0],
                                mlp_table.errors[:, -1]) < 0.99
    path = os.path.join(os.path.dirname(d2l.__file__), 'data',
                        'mlp_learning_curves.csv')
    assert os.path.getsize(path) <= 2.2e6  # package data of about 2 MB


def test_table_searcher_draws_each_row_once(table):
    searcher = d2l.TableSearcher(table, seed=3)
    n = len(table.configs)
    rows = [table.row(searcher.sample_configuration()) for _ in range(n)]
    assert sorted(rows) == list(range(n))
    again = d2l.TableSearcher(table, seed=3)
    assert [table.row(again.sample_configuration())
            for _ in range(n)] == rows
    other = d2l.TableSearcher(table, seed=4)
    assert [table.row(other.sample_configuration())
            for _ in range(n)] != rows
    # Every row was drawn: no repeat, a clear error instead.
    with pytest.raises(d2l.OutOfConfigurations, match=f'all {n} configurations'):
        searcher.sample_configuration()
    config = d2l.TableSearcher(table, seed=0).sample_configuration()
    config['learning_rate'] = -1.0  # a copy, not the table's dict
    assert all(c['learning_rate'] > 0 for c in table.configs)


class LoggingTableSearcher(d2l.TableSearcher):
    """Remembers the row of every configuration it hands out."""

    def __init__(self, curves, seed=0):
        super().__init__(curves, seed)
        self.drawn = []

    def sample_configuration(self):
        config = super().sample_configuration()
        self.drawn.append(self.curves.row(config))
        return config


def test_simulated_runs_draw_no_configuration_twice_and_repeat_exactly(
        mlp_table):
    # The comparison's setting: 32 average full trainings shared by the
    # workers, eta = 3.
    budget = 32 * mlp_table.seconds.sum(axis=1).mean()
    r_max = mlp_table.max_epochs
    makers = {
        'random search': d2l.BasicScheduler,
        'synchronous SH': lambda s: d2l.SuccessiveHalvingScheduler(
            s, eta=3, r_min=1, r_max=r_max),
        'Hyperband': lambda s: d2l.HyperbandScheduler(
            s, eta=3, r_min=1, r_max=r_max),
        'ASHA (promotion)': lambda s: d2l.PromotionASHAScheduler(
            s, 3, 1, r_max),
        'ASHA (stopping)': lambda s: d2l.StoppingASHAScheduler(
            s, 3, 1, r_max)}
    for n_workers in (1, 16):
        simulator = d2l.Simulator(mlp_table, n_workers, budget / n_workers)
        for name, make in makers.items():
            runs = []
            for _ in range(2):
                searcher = LoggingTableSearcher(mlp_table, seed=11)
                runs.append((as_tuple(simulator.run(make(searcher))),
                             searcher.drawn))
            (trace, drawn), (again, drawn_again) = runs
            assert len(drawn) == len(set(drawn)), (name, n_workers)
            assert trace == again and drawn == drawn_again, name
            assert trace[4] <= len(drawn)  # trials from scratch


# ---------------------------------------------- rank correlation, intervals

def test_rank_correlation():
    assert d2l.rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == \
        pytest.approx(1)
    assert d2l.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == \
        pytest.approx(-1)
    # Only the order counts, not the values.
    assert d2l.rank_correlation([1, 2, 3, 4], [1, 100, 101, 1e6]) == \
        pytest.approx(1)
    # Ties get the mean of their ranks: ranks (1.5, 1.5, 3) and (1, 2, 3).
    assert d2l.rank_correlation([5, 5, 7], [1, 2, 3]) == \
        pytest.approx(np.corrcoef([1.5, 1.5, 3], [1, 2, 3])[0, 1])
    stats = pytest.importorskip('scipy.stats')
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, 200)  # many ties
    y = x + rng.integers(0, 30, 200)
    assert d2l.rank_correlation(x, y) == pytest.approx(
        stats.spearmanr(x, y).statistic)


def test_ratio_interval():
    rng = np.random.default_rng(1)
    reference = rng.uniform(10, 20, 50)
    assert d2l.ratio_interval(2 * reference, reference) == \
        pytest.approx((2, 2, 2))  # paired: every resample gives 2
    times = reference * rng.uniform(0.3, 0.7, 50)
    ratio, low, high = d2l.ratio_interval(times, reference)
    assert low < ratio < high and 0.3 < low and high < 0.7
    assert d2l.ratio_interval(times, reference) == (ratio, low, high)
    # A higher level gives a wider interval.
    _, low99, high99 = d2l.ratio_interval(times, reference, level=0.99)
    assert low99 <= low and high99 >= high
    # Runs that never reach the target count as infinitely slow.
    never = np.where(np.arange(50) < 30, np.inf, times)
    ratio, low, high = d2l.ratio_interval(never, reference)
    assert ratio == high == np.inf and low > 0


# ------------------------------------------------------- simulator rules

def test_checkpoint_resume_and_exact_times():
    curves = tiny_table([[0.5, 0.4, 0.3]], [[1.0, 2.0, 4.0]])
    scheduler = ScriptedScheduler([{'x': 0, 'max_epochs': 1},
                                   {'x': 0, 'max_epochs': 3},
                                   {'x': 0, 'max_epochs': 2}])
    trace = d2l.Simulator(curves, n_workers=1, max_time=100).run(scheduler)
    # job 1: epoch 1 (1 s); job 2 resumes: epochs 2, 3 (6 s); job 3: the
    # checkpoint has 3 >= 2 epochs, so it trains from scratch (3 s).
    assert scheduler.log == [('update', {'x': 0, 'max_epochs': 1}, 0.5),
                             ('update', {'x': 0, 'max_epochs': 3}, 0.3),
                             ('update', {'x': 0, 'max_epochs': 2}, 0.4)]
    assert trace.times == [1.0, 7.0] and trace.best_errors == [0.5, 0.3]
    assert trace.busy == [10.0]
    assert (trace.n_jobs, trace.n_trials) == (3, 2)
    assert trace.utilization == pytest.approx(0.1)


def test_jobs_without_max_epochs_train_the_whole_table():
    curves = tiny_table([[0.5, 0.4, 0.3]], [[1.0, 2.0, 4.0]])
    scheduler = ScriptedScheduler([{'x': 0}])
    trace = d2l.Simulator(curves, 1, 100).run(scheduler)
    assert trace.times == [7.0] and trace.best_errors == [0.3]


def test_parallel_workers_and_deadline():
    curves = tiny_table([[0.9, 0.8], [0.7, 0.6], [0.5, 0.4]],
                        [[1.0, 1.0], [3.0, 3.0], [1.0, 1.0]])
    scheduler = ScriptedScheduler([{'x': 0}, {'x': 1}, {'x': 2}])
    trace = d2l.Simulator(curves, n_workers=2, max_time=5).run(scheduler)
    # worker 0: x=0 on [0, 2], then x=2 on [2, 4]; worker 1: x=1 on [0, 6]
    # which is cut at the deadline 5.
    assert trace.times == [2.0, 4.0] and trace.best_errors == [0.8, 0.4]
    assert trace.busy == [4.0, 5.0]
    assert trace.utilization == pytest.approx(9 / 10)
    assert [entry[1]['x'] for entry in scheduler.log] == [0, 2]


def test_stopping_schedulers_hear_every_epoch():
    curves = tiny_table([[0.9, 0.5, 0.1, 0.05]], [[1.0, 1.0, 1.0, 1.0]])
    scheduler = ScriptedStopper([{'x': 0, 'max_epochs': 4}], stop_at=2)
    trace = d2l.Simulator(curves, 1, 100).run(scheduler)
    assert scheduler.log == [('report', 0, 1, 0.9), ('report', 0, 2, 0.5),
                             ('update', {'x': 0, 'max_epochs': 4}, 0.5)]
    assert trace.times == [1.0, 2.0] and trace.best_errors == [0.9, 0.5]
    assert trace.busy == [2.0]


def test_stopping_schedulers_never_resume():
    curves = tiny_table([[0.9, 0.5, 0.1]], [[1.0, 2.0, 4.0]])
    scheduler = ScriptedStopper([{'x': 0, 'max_epochs': 3}] * 2, stop_at=1)
    trace = d2l.Simulator(curves, 1, 100).run(scheduler)
    # The same configuration twice: the second trial starts from scratch.
    assert [entry[:3] for entry in scheduler.log if entry[0] == 'report'] \
        == [('report', 0, 1), ('report', 0, 1)]
    assert trace.busy == [2.0] and trace.n_trials == 2


def test_ends_when_nothing_runs_and_nothing_is_suggested():
    curves = tiny_table([[0.5]], [[1.0]])
    trace = d2l.Simulator(curves, 3, 50).run(ScriptedScheduler([]))
    assert trace.times == [] and trace.busy == [0.0, 0.0, 0.0]
    assert trace.utilization == 0
    assert np.isnan(trace.best_error_at([10.0])).all()
    assert trace.time_to_reach(1.0) == math.inf


def test_trace_queries():
    trace = d2l.SimulationTrace(n_workers=1, max_time=10)
    for time, error in [(1.0, 0.5), (2.0, 0.6), (3.0, 0.4), (4.0, 0.4)]:
        trace.record(time, error)
    assert trace.times == [1.0, 3.0] and trace.best_errors == [0.5, 0.4]
    best = trace.best_error_at([0.5, 1.0, 2.5, 3.0, 9.0])
    assert np.isnan(best[0])
    assert best[1:].tolist() == [0.5, 0.5, 0.4, 0.4]
    assert trace.time_to_reach(0.45) == 3.0
    assert trace.time_to_reach(0.3) == math.inf


# ------------------------------------------------------------ failures

@pytest.mark.parametrize('failure', [math.nan, math.inf, -math.inf], ids=str)
@pytest.mark.parametrize('position', [0, 2, 4])  # first, middle, last
def test_a_failure_is_never_the_best_so_far(failure, position):
    errors = [0.5, 0.6, 0.4, 0.45]
    errors = errors[:position] + [failure] + errors[position:]
    trace = d2l.SimulationTrace(n_workers=1, max_time=10)
    for time, error in enumerate(errors, 1):
        trace.record(float(time), error)
    clean = d2l.SimulationTrace(n_workers=1, max_time=10)
    for time, error in enumerate(errors, 1):
        if math.isfinite(error):
            clean.record(float(time), error)
    assert trace.best_errors == clean.best_errors == [0.5, 0.4]
    assert trace.times == clean.times
    assert trace.time_to_reach(0.45) == clean.time_to_reach(0.45)


def failing_table(copies=1):
    """Configuration 0 diverges (NaN from epoch 1 on), 1 turns to inf at
    epoch 3, the others learn; 8 epochs of 1 s each. With copies > 1, row i
    has the curve of configuration i % 8, so that long runs, which draw
    each row once, meet every curve several times."""
    errors = [[math.nan] * 8, [0.3, 0.2] + [math.inf] * 6] + [
        [0.5 - 0.05 * i - 0.01 * t for t in range(8)] for i in range(6)]
    return tiny_table(errors * copies, [[1.0] * 8] * len(errors) * copies)


@pytest.mark.parametrize('seed', range(5))
def test_simulated_schedulers_with_failing_configurations(seed):
    curves = failing_table(copies=10)
    simulator = d2l.Simulator(curves, n_workers=2, max_time=400)
    searcher = lambda: d2l.TableSearcher(curves, seed)
    for scheduler in (d2l.PromotionASHAScheduler(searcher(), 2, 1, 8),
                      d2l.StoppingASHAScheduler(searcher(), 2, 1, 8),
                      d2l.BasicScheduler(searcher())):
        trace = simulator.run(scheduler)
        assert trace.best_errors and all(
            math.isfinite(e) for e in trace.best_errors)
        assert trace.best_errors[-1] <= 0.18
    # Promotion: configuration 0 is never recorded at a rung, configuration
    # 1 never gets beyond rung 2 (its error at rung 4 is inf).
    promotion = d2l.PromotionASHAScheduler(searcher(), 2, 1, 8)
    simulator.run(promotion)
    rows = {r: [curves.row(e['config']) % 8 for e in entries]
            for r, entries in promotion.rungs.items()}
    assert all(0 not in found for found in rows.values())
    assert 1 not in rows[4] + rows[8]


def test_stopping_ends_a_failed_trial_at_its_next_rung_level():
    curves = failing_table()
    scheduler = d2l.StoppingASHAScheduler(
        d2l.TableSearcher(curves, 0), 2, 1, 8)
    log = []
    should_stop = scheduler.should_stop

    def logged(config, epoch, error):
        stop = should_stop(config, epoch, error)
        log.append((curves.row(config), epoch, stop))
        return stop

    scheduler.should_stop = logged
    d2l.Simulator(curves, 1, max_time=200).run(scheduler)
    # Each configuration is drawn several times. Configuration 0 (NaN from
    # epoch 1 on) is stopped at rung level 1 every time.
    zero = [(e, s) for row, e, s in log if row == 0]
    assert zero and set(zero) == {(1, True)}
    # Configuration 1 turns to inf at epoch 3, between the rung levels 2 and
    # 4: it is stopped at epoch 4, not earlier and not later.
    one = [(e, s) for row, e, s in log if row == 1]
    assert (3, False) in one and (4, True) in one
    assert (3, True) not in one and (4, False) not in one
    assert max(e for e, _ in one) == 4
    assert all(math.isfinite(e) for r in scheduler.rungs.values() for e in r)


# ----------------------------------------------- runs on the real table

def test_same_seed_same_trace_different_seeds_differ(mlp_table):
    simulator = d2l.Simulator(
        mlp_table, n_workers=4,
        max_time=8 * mlp_table.seconds.sum(axis=1).mean())
    made = lambda seed: schedulers(mlp_table, seed).items()
    first = {name: simulator.run(s) for name, s in made(7)}
    again = {name: simulator.run(s) for name, s in made(7)}
    other = {name: simulator.run(s) for name, s in made(8)}
    for name in first:
        assert as_tuple(first[name]) == as_tuple(again[name]), name
        assert as_tuple(first[name]) != as_tuple(other[name]), name
        assert first[name].best_errors, name
        assert 0 <= first[name].utilization <= 1 + 1e-9, name


def test_utilization(mlp_table):
    max_time = 8 * mlp_table.seconds.sum(axis=1).mean()
    simulator = d2l.Simulator(mlp_table, 4, max_time)
    runs = {name: simulator.run(s)
            for name, s in schedulers(mlp_table, 0).items()}
    # Asynchronous schedulers never let a worker wait.
    for name in ('random search', 'ASHA (promotion)', 'ASHA (stopping)'):
        assert runs[name].utilization == pytest.approx(1.0), name
    assert runs['synchronous SH'].utilization < 0.95


def test_random_search_with_equal_jobs_uses_every_worker():
    curves = tiny_table([[0.5, 0.4]] * 9, [[1.5, 1.5]] * 9)
    for max_time in (6.0, 7.3):
        trace = d2l.Simulator(curves, 3, max_time).run(
            d2l.BasicScheduler(d2l.TableSearcher(curves, seed=0)))
        assert trace.utilization == pytest.approx(1.0)
        assert trace.busy == pytest.approx([max_time] * 3)


def test_asha_finds_a_cheap_obvious_winner_before_random_search():
    # Configuration 0 is best from the first epoch on; all others are
    # worse at every epoch. With one worker, random search needs
    # 8 epochs per configuration, ASHA at most 8 per configuration too,
    # but only 1 for the winner itself.
    n, epochs = 16, 8
    errors = [[0.1] * epochs] + [[0.5 - 0.01 * t for t in range(epochs)]
                                 for _ in range(n - 1)]
    curves = tiny_table(errors, [[1.0] * epochs] * n)
    simulator = d2l.Simulator(curves, 1, max_time=10 * n * epochs)
    for seed in range(10):
        rs = simulator.run(d2l.BasicScheduler(d2l.TableSearcher(curves, seed)))
        asha = simulator.run(d2l.PromotionASHAScheduler(
            d2l.TableSearcher(curves, seed), ETA, R_MIN, epochs))
        stop = simulator.run(d2l.StoppingASHAScheduler(
            d2l.TableSearcher(curves, seed), ETA, R_MIN, epochs))
        for trace in (rs, asha, stop):
            assert trace.best_errors[-1] == 0.1
        assert asha.time_to_reach(0.1) <= rs.time_to_reach(0.1)
        assert stop.time_to_reach(0.1) <= rs.time_to_reach(0.1)
        # Random search: the winner's result comes after whole trainings.
        assert rs.time_to_reach(0.1) % epochs == 0
