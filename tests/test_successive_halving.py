"""Synchronous successive halving and Hyperband of :numref:`sec_mf_hpo`
(chapter_hyperparameter_optimization/sh-intro.md), tested on made-up
errors: no network is trained here."""
import collections
import os
import random
import sys

import pytest

from chapter import ROOT
from d2l import hpo
from fake_searchers import CountingSearcher

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import make_figures  # noqa: E402

SH = hpo.SuccessiveHalvingScheduler
HB = hpo.HyperbandScheduler


class ConstantSearcher(CountingSearcher):
    """Always the same configuration (a searcher may repeat itself)."""

    def sample_configuration(self):
        return {'learning_rate': 0.1}


def run_sequentially(scheduler, error, n):
    """Drive `scheduler` like the sequential tuner; return the configs."""
    evaluated = []
    for _ in range(n):
        config = scheduler.suggest()
        assert config is not None, 'a sequential run never has to wait'
        evaluated.append(dict(config))
        scheduler.update(config, error(config))
    return evaluated


# ------------------------------------------------------------ rung levels

@pytest.mark.parametrize('r_min, r_max, eta, levels', [
    (1, 8, 2, [1, 2, 4, 8]),
    (1, 16, 2, [1, 2, 4, 8, 16]),
    (2, 16, 2, [2, 4, 8, 16]),
    (1, 9, 3, [1, 3, 9]),
    (1, 27, 3, [1, 3, 9, 27]),
    (1, 81, 3, [1, 3, 9, 27, 81]),
    (1, 10, 3, [1, 3, 10]),      # r_max/r_min is no power of eta
    (1, 10, 2, [1, 2, 4, 10]),
    (1, 2, 3, [2]),              # r_max < r_min * eta: a single rung
    (1, 1, 2, [1]),
    (4, 4, 2, [4]),
])
def test_rung_levels(r_min, r_max, eta, levels):
    scheduler = SH(CountingSearcher(), eta=eta, r_min=r_min, r_max=r_max)
    assert scheduler.rung_levels == levels
    assert scheduler.K == len(levels) - 1


@pytest.mark.parametrize('kwargs', [
    dict(eta=1, r_min=1, r_max=8), dict(eta=0, r_min=1, r_max=8),
    dict(eta=2.5, r_min=1, r_max=8), dict(eta=2, r_min=0, r_max=8),
    dict(eta=2, r_min=9, r_max=8)])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        SH(CountingSearcher(), **kwargs)


@pytest.mark.parametrize('eta, r_max, prefact, num_trials', [
    (2, 8, 1, [8, 4, 2, 1]),
    (2, 8, 2, [16, 8, 4, 2]),
    (3, 27, 1, [27, 9, 3, 1]),
    (3, 9, 3, [27, 9, 3]),
    (2, 1, 5, [5]),
])
def test_number_of_trials_per_rung(eta, r_max, prefact, num_trials):
    scheduler = SH(CountingSearcher(), eta=eta, r_min=1, r_max=r_max,
                   prefact=prefact)
    assert scheduler.num_trials == num_trials
    # Every rung costs prefact * r_max epochs when r_max is a power of eta
    for n, r in zip(scheduler.num_trials, scheduler.rung_levels):
        assert n * r == prefact * r_max


# ------------------------------------------------------------- promotions

# The errors of :numref:`fig_sh_rungs`, by rung level and configuration id:
# the figure's table holds exactly the errors that SH asks for.
FIGURE_ERRORS = make_figures.SH_ERRORS


def test_promotions_match_the_figure():
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    evaluated = run_sequentially(
        scheduler, lambda c: FIGURE_ERRORS[c['max_epochs']][c['id']], 15)
    by_rung = collections.defaultdict(list)
    for config in evaluated:
        by_rung[config['max_epochs']].append(config['id'])
    assert by_rung[1] == list(range(8))
    # Promoted configurations are evaluated best first
    assert by_rung[2] == [1, 5, 3, 0]
    assert by_rung[4] == [3, 1]
    assert by_rung[8] == [3]
    for r in (2, 4, 8):
        assert sorted(by_rung[r]) == sorted(FIGURE_ERRORS[r])


@pytest.mark.parametrize('eta, r_max', [(2, 8), (3, 9), (3, 27), (4, 16)])
def test_exactly_the_best_fraction_is_promoted(eta, r_max):
    scheduler = SH(CountingSearcher(), eta=eta, r_min=1, r_max=r_max)
    rng = random.Random(eta * r_max)
    errors = {}  # (id, epochs) -> error; a fresh random value per rung

    def error(config):
        return errors.setdefault((config['id'], config['max_epochs']),
                                 rng.random())
    evaluated = run_sequentially(scheduler, error,
                                 sum(scheduler.num_trials))
    levels = scheduler.rung_levels
    for k in range(len(levels) - 1):
        at_rung = [c['id'] for c in evaluated if c['max_epochs'] == levels[k]]
        at_next = [c['id'] for c in evaluated
                   if c['max_epochs'] == levels[k + 1]]
        assert len(at_rung) == scheduler.num_trials[k]
        assert len(at_next) == len(at_rung) // eta
        best = sorted(at_rung, key=lambda i: errors[i, levels[k]])
        assert at_next == best[:len(at_rung) // eta]


def test_ties_favor_the_configuration_suggested_first():
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    configs = [scheduler.suggest() for _ in range(8)]
    errors = [0.5, 0.3, 0.5, 0.3, 0.3, 0.5, 0.3, 0.5]
    # Results arrive in reverse order, as they might from parallel workers
    for config, error in reversed(list(zip(configs, errors))):
        scheduler.update(config, error)
    promoted = [scheduler.suggest()['id'] for _ in range(4)]
    assert promoted == [1, 3, 4, 6]
    # All equal: the first suggested win
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=4)
    configs = [scheduler.suggest() for _ in range(4)]
    for config in configs[::-1]:
        scheduler.update(config, 0.25)
    assert [scheduler.suggest()['id'] for _ in range(2)] == [0, 1]


def test_repeated_configurations_are_told_apart():
    scheduler = SH(ConstantSearcher(), eta=2, r_min=1, r_max=4)
    evaluated = run_sequentially(scheduler, lambda c: 0.5, 7)
    assert [c['max_epochs'] for c in evaluated] == [1, 1, 1, 1, 2, 2, 4]
    assert scheduler.rounds_completed == 1


# ------------------------------------------------ contract of the scheduler

def test_suggest_returns_fresh_dicts_with_max_epochs():
    class KeepingSearcher(CountingSearcher):
        def sample_configuration(self):
            self.last = super().sample_configuration()
            return self.last
    searcher = KeepingSearcher()
    scheduler = SH(searcher, eta=2, r_min=1, r_max=4)
    first = scheduler.suggest()
    assert first == {'id': 0, 'max_epochs': 1}
    assert first is not searcher.last and searcher.last == {'id': 0}
    scheduler.update(first, 0.1)  # the same dict comes back
    for _ in range(3):
        scheduler.update(scheduler.suggest(), 0.9)
    promoted = scheduler.suggest()
    assert promoted == {'id': 0, 'max_epochs': 2}
    assert promoted is not first and first['max_epochs'] == 1


def test_searcher_sees_every_result():
    searcher = CountingSearcher()
    scheduler = SH(searcher, eta=2, r_min=1, r_max=8)
    evaluated = run_sequentially(scheduler, lambda c: 1 / (1 + c['id']), 15)
    assert len(searcher.updates) == 15
    assert [config for config, _, _ in searcher.updates] == evaluated


def test_suggest_waits_for_outstanding_results():
    """With parallel workers, a rung closes only when all results are in."""
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    running = [scheduler.suggest() for _ in range(8)]
    assert all(c['max_epochs'] == 1 for c in running)
    assert scheduler.suggest() is None
    # Seven of eight results (out of order): still waiting
    order = [3, 0, 7, 5, 1, 6, 2]
    for i in order:
        scheduler.update(running[i], 0.1 * i)
        assert scheduler.suggest() is None
    scheduler.update(running[4], 0.4)
    rung2 = [scheduler.suggest() for _ in range(4)]
    assert [c['id'] for c in rung2] == [0, 1, 2, 3]
    assert all(c['max_epochs'] == 2 for c in rung2)
    assert scheduler.suggest() is None
    for config in rung2[1:]:
        scheduler.update(config, 0.5)
    assert scheduler.suggest() is None
    scheduler.update(rung2[0], 0.2)
    assert [c['id'] for c in (scheduler.suggest(), scheduler.suggest())] \
        == [0, 1]
    assert scheduler.suggest() is None


def test_a_new_round_starts_after_the_top_rung():
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    evaluated = run_sequentially(scheduler, lambda c: 1 / (1 + c['id']), 30)
    assert scheduler.rounds_completed == 2
    assert [c['max_epochs'] for c in evaluated[:15]] == \
        [1] * 8 + [2] * 4 + [4] * 2 + [8]
    # The second round starts with new configurations from the searcher
    assert [c['id'] for c in evaluated[15:23]] == list(range(8, 16))
    assert evaluated[15:] != evaluated[:15]


# --------------------------------------------------------------- Hyperband

@pytest.mark.parametrize('eta, r_max, sizes', [
    # n_b = ceil((K + 1) / (K + 1 - b) * eta**(K - b)), then floor(n_b / eta**i)
    (2, 8, [[(8, 1), (4, 2), (2, 4), (1, 8)],
            [(6, 2), (3, 4), (1, 8)],
            [(4, 4), (2, 8)],
            [(4, 8)]]),
    (3, 9, [[(9, 1), (3, 3), (1, 9)],
            [(5, 3), (1, 9)],
            [(3, 9)]]),
    (3, 27, [[(27, 1), (9, 3), (3, 9), (1, 27)],
             [(12, 3), (4, 9), (1, 27)],
             [(6, 9), (2, 27)],
             [(4, 27)]]),
    (2, 1, [[(1, 1)]]),
])
def test_hyperband_bracket_sizes(eta, r_max, sizes):
    hyperband = HB(CountingSearcher(), eta=eta, r_min=1, r_max=r_max)
    assert hyperband.bracket_sizes() == sizes


def test_hyperband_brackets_cost_about_the_same():
    hyperband = HB(CountingSearcher(), eta=2, r_min=1, r_max=8)
    epochs = [sum(n * r for n, r in sizes)
              for sizes in hyperband.bracket_sizes()]
    assert epochs == [32, 32, 32, 32]  # the numbers in fig_hyperband_brackets


def test_hyperband_runs_its_brackets_in_turn():
    hyperband = HB(CountingSearcher(), eta=2, r_min=1, r_max=8)
    sizes = hyperband.bracket_sizes()
    per_iteration = sum(n for bracket in sizes for n, _ in bracket)
    assert per_iteration == 15 + 10 + 6 + 4
    evaluated = run_sequentially(hyperband, lambda c: 1 / (1 + c['id']),
                                 2 * per_iteration + 3)
    expected = [r for bracket in sizes for n, r in bracket for _ in range(n)]
    epochs = [c['max_epochs'] for c in evaluated]
    assert epochs == expected + expected + [1, 1, 1]
    assert hyperband.current == 0
    # Each bracket samples its own new configurations
    assert len({c['id'] for c in evaluated[:per_iteration]}) == 8 + 6 + 4 + 4


def test_hyperband_waits_like_successive_halving():
    hyperband = HB(CountingSearcher(), eta=2, r_min=1, r_max=8)
    running = [hyperband.suggest() for _ in range(8)]
    assert hyperband.suggest() is None
    for config in running:
        hyperband.update(config, 0.5)
    assert hyperband.suggest()['max_epochs'] == 2


# ---------------------------------------------------- a run through HPOTuner

def fake_objective(calls):
    def objective(learning_rate, batch_size, max_epochs):
        calls.append(max_epochs)
        # Smaller learning rates are better, and more epochs help
        return learning_rate / max_epochs + 0.001 * batch_size
    return objective


def config_space():
    return {'learning_rate': hpo.LogUniform(1e-3, 1),
            'batch_size': hpo.RandInt(8, 128),
            'max_epochs': 8}


def test_successive_halving_through_the_tuner():
    calls = []
    scheduler = SH(hpo.RandomSearcher(config_space(), seed=0), eta=2,
                   r_min=1, r_max=8)
    tuner = hpo.HPOTuner(scheduler=scheduler,
                         objective=fake_objective(calls))
    tuner.run(number_of_trials=30)
    assert collections.Counter(calls) == {1: 16, 2: 8, 4: 4, 8: 2}
    assert len(tuner.records) == 30
    assert scheduler.rounds_completed == 2
    # The best configuration is among the two trained for 8 epochs, and
    # the tuner's incumbent is the best evaluation it has seen.
    errors = [record['error'] for record in tuner.records]
    assert tuner.incumbent_error == min(errors)


def test_hyperband_through_the_tuner():
    calls = []
    scheduler = HB(hpo.RandomSearcher(config_space(), seed=0), eta=2,
                   r_min=1, r_max=8)
    tuner = hpo.HPOTuner(scheduler=scheduler,
                         objective=fake_objective(calls))
    tuner.run(number_of_trials=35)
    assert collections.Counter(calls) == {1: 8, 2: 4 + 6, 4: 2 + 3 + 4,
                                          8: 1 + 1 + 2 + 4}
    assert sum(calls) == 4 * 32
