"""Tests of the framework-free HPO API of the sections "What Is Hyperparameter
Optimization?" and "Hyperparameter Optimization API" (d2l/hpo.py): the domains
of configuration spaces, RandomSearcher, BasicScheduler and HPOTuner.

No neural network is trained here: the tuner runs on cheap fake objectives.
"""
import math
import random

import numpy as np
import pytest

from d2l import hpo


# ------------------------------------------------------------------ domains

@pytest.mark.parametrize('domain', [
    hpo.Uniform(-2.5, 3.0), hpo.Uniform(0, 1),
    hpo.LogUniform(1e-3, 1), hpo.LogUniform(1e-5, 1e-1), hpo.LogUniform(2, 3),
    hpo.RandInt(8, 128), hpo.RandInt(0, 1), hpo.RandInt(-3, 3)])
def test_samples_stay_within_bounds(domain):
    rng = random.Random(0)
    samples = [domain.sample(rng) for _ in range(5000)]
    assert min(samples) >= domain.lower
    assert max(samples) <= domain.upper


def test_randint_is_inclusive_and_returns_ints():
    rng = random.Random(1)
    samples = [hpo.RandInt(8, 12).sample(rng) for _ in range(2000)]
    assert all(type(x) is int for x in samples)
    assert set(samples) == {8, 9, 10, 11, 12}


def test_randint_accepts_numpy_integers():
    domain = hpo.RandInt(np.int64(8), np.int32(128))
    assert (domain.lower, domain.upper) == (8, 128)
    assert type(domain.lower) is int


def test_uniform_is_uniform():
    rng = random.Random(2)
    samples = np.array([hpo.Uniform(2, 6).sample(rng) for _ in range(20000)])
    counts, _ = np.histogram(samples, bins=4, range=(2, 6))
    # Each quarter holds 5000 samples in expectation (std about 61).
    assert np.all(np.abs(counts - 5000) < 300), counts
    assert abs(samples.mean() - 4) < 0.05


def test_loguniform_is_uniform_in_log_space():
    rng = random.Random(3)
    domain = hpo.LogUniform(1e-4, 1)
    samples = np.array([domain.sample(rng) for _ in range(20000)])
    # Each of the four decades gets a quarter of the samples ...
    counts, _ = np.histogram(np.log10(samples), bins=4, range=(-4, 0))
    assert np.all(np.abs(counts - 5000) < 300), counts
    # ... the mean of log10 is the midpoint -2, and the median is 1e-2,
    assert abs(np.log10(samples).mean() + 2) < 0.05
    assert 0.8e-2 < np.median(samples) < 1.25e-2
    # whereas a uniform distribution puts about 99 % of its mass above 1e-2.
    uniform = np.array([hpo.Uniform(1e-4, 1).sample(rng)
                        for _ in range(20000)])
    assert np.mean(uniform < 1e-2) < 0.02


def test_sampling_is_reproducible_with_the_same_seed():
    domain = hpo.LogUniform(1e-3, 1)
    a = [domain.sample(random.Random(7)) for _ in range(3)]
    r1, r2 = random.Random(7), random.Random(7)
    assert [domain.sample(r1) for _ in range(5)] == \
        [domain.sample(r2) for _ in range(5)]
    assert len(set(a)) == 1  # a fresh generator with one seed, one value


@pytest.mark.parametrize('make', [
    lambda: hpo.Uniform(1, 0), lambda: hpo.Uniform(1, 1),
    lambda: hpo.Uniform(0, float('nan')), lambda: hpo.Uniform('0', 1),
    lambda: hpo.LogUniform(0, 1), lambda: hpo.LogUniform(-1, 1),
    lambda: hpo.LogUniform(1, 1e-3), lambda: hpo.LogUniform(1e-3, 1e-3),
    lambda: hpo.RandInt(128, 8), lambda: hpo.RandInt(16, 16),
    lambda: hpo.RandInt(8, 128.5), lambda: hpo.RandInt(8.0, 128),
    lambda: hpo.RandInt(True, 5), lambda: hpo.RandInt('8', 128)])
def test_bad_ranges_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_error_messages_name_the_domain_and_the_bounds():
    with pytest.raises(ValueError, match=r'Uniform.*lower < upper.*1.*0'):
        hpo.Uniform(1, 0)
    with pytest.raises(ValueError, match=r'LogUniform.*lower > 0'):
        hpo.LogUniform(0, 1)
    with pytest.raises(ValueError, match=r'RandInt.*integers.*128\.5'):
        hpo.RandInt(8, 128.5)


def test_domains_are_domains():
    for domain in [hpo.Uniform(0, 1), hpo.LogUniform(1, 2), hpo.RandInt(1, 2)]:
        assert isinstance(domain, hpo.Domain)
    assert 'LogUniform(0.001, 1)' == repr(hpo.LogUniform(0.001, 1))


# ----------------------------------------------------------------- searcher

def config_space(max_epochs=8):
    return {'learning_rate': hpo.LogUniform(1e-3, 1),
            'batch_size': hpo.RandInt(8, 128),
            'max_epochs': max_epochs,
            'optimizer': 'sgd'}


def test_random_searcher_samples_domains_and_passes_constants_through():
    searcher = hpo.RandomSearcher(config_space(), seed=0)
    configs = [searcher.sample_configuration() for _ in range(50)]
    for config in configs:
        assert list(config) == ['learning_rate', 'batch_size', 'max_epochs',
                                'optimizer']
        assert 1e-3 <= config['learning_rate'] <= 1
        assert 8 <= config['batch_size'] <= 128
        assert config['max_epochs'] == 8 and config['optimizer'] == 'sgd'
    assert len({config['learning_rate'] for config in configs}) == 50


def test_random_searcher_uses_initial_config_first():
    initial = {'learning_rate': 0.1, 'batch_size': 128}
    searcher = hpo.RandomSearcher(config_space(), initial_config=initial,
                                  seed=0)
    first = searcher.sample_configuration()
    assert first == {'learning_rate': 0.1, 'batch_size': 128,
                     'max_epochs': 8, 'optimizer': 'sgd'}
    second = searcher.sample_configuration()
    assert second != first and second['max_epochs'] == 8
    # The initial configuration is not modified and is used only once.
    assert initial == {'learning_rate': 0.1, 'batch_size': 128}
    rest = [searcher.sample_configuration() for _ in range(20)]
    assert all(config['learning_rate'] != 0.1 for config in rest)


def test_partial_initial_config_is_completed_from_the_space():
    searcher = hpo.RandomSearcher(config_space(), seed=0,
                                  initial_config={'batch_size': 32})
    first = searcher.sample_configuration()
    assert first['batch_size'] == 32
    assert 1e-3 <= first['learning_rate'] <= 1
    assert first['max_epochs'] == 8


def test_initial_config_with_unknown_name_raises():
    with pytest.raises(ValueError, match='learnig_rate'):
        hpo.RandomSearcher(config_space(), initial_config={'learnig_rate': 1})


def test_random_searcher_is_reproducible_and_seed_dependent():
    def draw(seed):
        searcher = hpo.RandomSearcher(config_space(), seed=seed)
        return [searcher.sample_configuration() for _ in range(5)]
    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_searcher_returns_fresh_dicts():
    searcher = hpo.RandomSearcher({'x': 1}, seed=0)
    a, b = searcher.sample_configuration(), searcher.sample_configuration()
    assert a == b == {'x': 1} and a is not b


# ---------------------------------------------------- scheduler and tuner

class RecordingSearcher(hpo.RandomSearcher):
    """A random searcher that remembers what update() told it."""
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.updates = []

    def update(self, config, error, additional_info=None):
        self.updates.append((dict(config), error))


def quadratic(learning_rate, batch_size, max_epochs=None, optimizer=None):
    """Minimum 0 at learning_rate=0.1, batch_size=64."""
    return (math.log10(learning_rate) + 1) ** 2 + (batch_size / 64 - 1) ** 2


def test_basic_scheduler_passes_configs_and_results_through():
    searcher = RecordingSearcher(config_space(), seed=0)
    scheduler = hpo.BasicScheduler(searcher)
    config = scheduler.suggest()
    assert config['max_epochs'] == 8
    scheduler.update(config, 0.25)
    assert searcher.updates == [(config, 0.25)]


def test_basic_scheduler_hands_out_copies():
    searcher = hpo.RandomSearcher({'x': hpo.Uniform(0, 1)}, seed=0)
    scheduler = hpo.BasicScheduler(searcher)
    config = scheduler.suggest()
    config['x'] = 'changed'  # must not affect anything else
    assert isinstance(scheduler.suggest()['x'], float)


def run_tuner(number_of_trials=60, seed=0):
    searcher = RecordingSearcher(config_space(), seed=seed,
                                 initial_config={'learning_rate': 0.5,
                                                 'batch_size': 8})
    tuner = hpo.HPOTuner(scheduler=hpo.BasicScheduler(searcher),
                         objective=quadratic)
    tuner.run(number_of_trials=number_of_trials, verbose=False)
    return tuner, searcher


def test_tuner_keeps_the_right_incumbent():
    tuner, _ = run_tuner()
    errors = [record['error'] for record in tuner.records]
    best = int(np.argmin(errors))
    assert tuner.incumbent_error == min(errors)
    assert tuner.incumbent == tuner.records[best]['config']
    assert tuner.incumbent_error == quadratic(**tuner.incumbent)
    assert tuner.incumbent_error < quadratic(0.5, 8)  # the search helped


def test_tuner_records_every_trial():
    tuner, searcher = run_tuner(number_of_trials=25)
    assert len(tuner.records) == 25
    assert len(tuner.incumbent_trajectory) == 25
    assert len(tuner.cumulative_runtime) == 25
    assert tuner.records[0]['config']['learning_rate'] == 0.5  # initial
    for record in tuner.records:
        assert set(record) == {'config', 'error', 'runtime', 'status'}
        assert record['status'] == 'completed'
        assert record['error'] == quadratic(**record['config'])
        assert record['runtime'] >= 0
    # The searcher was told about every result, in order.
    assert [error for _, error in searcher.updates] == \
        [record['error'] for record in tuner.records]


def test_incumbent_trajectory_is_running_minimum():
    tuner, _ = run_tuner()
    errors = [record['error'] for record in tuner.records]
    assert tuner.incumbent_trajectory == list(np.minimum.accumulate(errors))
    assert all(b <= a for a, b in zip(tuner.incumbent_trajectory,
                                      tuner.incumbent_trajectory[1:]))


def test_cumulative_runtime_is_increasing_sum_of_runtimes():
    tuner, _ = run_tuner()
    runtimes = [record['runtime'] for record in tuner.records]
    assert tuner.cumulative_runtime == pytest.approx(np.cumsum(runtimes))
    assert all(b > a for a, b in zip(tuner.cumulative_runtime,
                                     tuner.cumulative_runtime[1:]))


def test_run_can_be_continued():
    tuner, _ = run_tuner(number_of_trials=10)
    tuner.run(number_of_trials=5, verbose=False)
    assert len(tuner.records) == len(tuner.cumulative_runtime) == 15
    assert tuner.incumbent_trajectory[-1] == min(
        record['error'] for record in tuner.records)


def test_bookkeeping_by_hand():
    tuner = hpo.HPOTuner(scheduler=None, objective=None)
    assert tuner.incumbent is None and tuner.incumbent_error == math.inf
    for i, (error, runtime) in enumerate([(0.5, 2.0), (0.7, 1.0),
                                          (0.3, 4.0), (0.3, 1.0)]):
        tuner.bookkeeping({'trial': i}, error, runtime)
    assert tuner.incumbent_trajectory == [0.5, 0.5, 0.3, 0.3]
    assert tuner.cumulative_runtime == [2.0, 3.0, 7.0, 8.0]
    # Ties keep the earlier configuration.
    assert tuner.incumbent == {'trial': 2} and tuner.incumbent_error == 0.3


def test_bookkeeping_ignores_failures_for_the_incumbent():
    tuner = hpo.HPOTuner(scheduler=None, objective=None)
    for i, error in enumerate([math.nan, -math.inf, 0.4, math.inf,
                               math.nan, 0.2]):
        tuner.bookkeeping({'trial': i}, error, 1.0)
    assert tuner.incumbent_trajectory == [math.inf, math.inf, 0.4, 0.4,
                                          0.4, 0.2]
    assert tuner.incumbent == {'trial': 5}
    tuner.bookkeeping({'trial': 6}, math.nan, 1.0, 'ValueError: boom')
    assert tuner.records[-1]['status'] == 'failed'
    assert tuner.records[-1]['exception'] == 'ValueError: boom'
    assert tuner.records[0]['status'] == 'completed'  # NaN, but no crash
    assert 'exception' not in tuner.records[0]
    assert tuner.incumbent_error == 0.2


def test_recorded_configs_are_copies():
    tuner = hpo.HPOTuner(scheduler=None, objective=None)
    config = {'x': 1}
    tuner.bookkeeping(config, 0.1, 1.0)
    config['x'] = 2
    assert tuner.records[0]['config'] == {'x': 1}
    assert tuner.incumbent == {'x': 1}


def test_tuner_rejects_a_scheduler_that_suggests_nothing():
    class Waiting(hpo.HPOScheduler):
        def suggest(self):
            return None

    tuner = hpo.HPOTuner(scheduler=Waiting(), objective=quadratic)
    with pytest.raises(RuntimeError):
        tuner.run(number_of_trials=1, verbose=False)


def test_verbose_run_prints_one_line_per_trial(capsys):
    tuner = hpo.HPOTuner(
        scheduler=hpo.BasicScheduler(hpo.RandomSearcher(config_space())),
        objective=quadratic)
    tuner.run(number_of_trials=3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith('trial 0:')


def test_base_classes_are_abstract():
    with pytest.raises(NotImplementedError):
        hpo.HPOSearcher().sample_configuration()
    hpo.HPOSearcher().update({'x': 1}, 0.5)  # the default ignores results
    with pytest.raises(NotImplementedError):
        hpo.HPOScheduler().suggest()
    with pytest.raises(NotImplementedError):
        hpo.Domain().sample(random.Random(0))


def test_plot_anytime_draws_the_trajectory():
    import matplotlib
    matplotlib.use('Agg')
    tuner, _ = run_tuner(number_of_trials=10)
    axes = tuner.plot_anytime()
    lines = axes.get_lines()
    assert len(lines) == 2  # the step curve and the trial markers
    assert list(lines[0].get_ydata()) == tuner.incumbent_trajectory
    assert axes.get_xlabel() == 'wall-clock time (seconds)'
    matplotlib.pyplot.close('all')
