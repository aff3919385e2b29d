"""Promotion-type and stopping-type ASHA of asha-scratch.md (d2l.hpo): the
rules, their agreement with Syne Tune 0.16's ASHA, and failed trials (NaN,
+-inf results, d2l.is_failure)."""
import datetime
import math
import random

import pytest

from d2l import hpo as d2l


class ListSearcher(d2l.HPOSearcher):
    """Hands out {'trial': 0}, {'trial': 1}, ...; IndexError when used up."""

    def __init__(self, n):
        self.configs = [{'trial': i} for i in range(n)]
        self.updates = []

    def sample_configuration(self):
        return self.configs.pop(0)

    def update(self, config, error, additional_info=None):
        self.updates.append((dict(config), error))


def promotion(n=100, eta=2, r_min=1, r_max=8):
    return d2l.PromotionASHAScheduler(ListSearcher(n), eta, r_min, r_max)


def stopping(n=100, eta=2, r_min=1, r_max=8):
    return d2l.StoppingASHAScheduler(ListSearcher(n), eta, r_min, r_max)


# ------------------------------------------------------------ promotion type
# Rung levels are those of successive halving (d2l.rung_levels): with
# eta=3, r_min=1, r_max=8 the level 3 is replaced by r_max.

@pytest.mark.parametrize('eta, r_min, r_max, levels', [
    (2, 1, 8, [1, 2, 4, 8]), (3, 1, 9, [1, 3, 9]), (3, 1, 8, [1, 8]),
    (2, 2, 16, [2, 4, 8, 16]), (2, 4, 4, [4])])
def test_rung_levels(eta, r_min, r_max, levels):
    assert promotion(eta=eta, r_min=r_min, r_max=r_max).rung_levels == levels


def test_new_configurations_while_nothing_is_promotable():
    scheduler = promotion()
    first = scheduler.suggest()
    assert first == {'trial': 0, 'max_epochs': 1}
    scheduler.update(first, 0.5)
    # One result at rung 1: the top floor(1/2) = 0 is empty.
    assert scheduler.suggest() == {'trial': 1, 'max_epochs': 1}


def test_suggest_never_waits():
    scheduler = promotion()
    configs = [scheduler.suggest() for _ in range(5)]  # no results at all
    assert [c['trial'] for c in configs] == [0, 1, 2, 3, 4]
    assert all(c['max_epochs'] == 1 for c in configs)


def test_promotes_the_better_of_two_then_starts_new():
    scheduler = promotion()
    a, b = scheduler.suggest(), scheduler.suggest()
    scheduler.update(a, 0.5)
    scheduler.update(b, 0.3)
    assert scheduler.suggest() == {'trial': 1, 'max_epochs': 2}
    # trial 1 is promoted already; trial 0 is not in the top 1 of 2.
    assert scheduler.suggest() == {'trial': 2, 'max_epochs': 1}


def test_late_promotion_when_the_rung_grows():
    scheduler = promotion()
    a = scheduler.suggest()
    scheduler.update(a, 0.3)
    b = scheduler.suggest()  # trial 0 alone: not promotable
    assert b['trial'] == 1
    scheduler.update(b, 0.6)
    # Now trial 0 is the top 1 of 2 and gets promoted after the fact.
    assert scheduler.suggest() == {'trial': 0, 'max_epochs': 2}


def test_promotion_order_top_down_and_best_first():
    scheduler = promotion()
    jobs = [scheduler.suggest() for _ in range(4)]
    for job, error in zip(jobs, [0.4, 0.1, 0.3, 0.2]):
        scheduler.update(job, error)
    # Top 2 of rung 1 are trials 1 (0.1) and 3 (0.2): best first.
    p1, p2 = scheduler.suggest(), scheduler.suggest()
    assert (p1, p2) == ({'trial': 1, 'max_epochs': 2},
                        {'trial': 3, 'max_epochs': 2})
    scheduler.update(p1, 0.09)
    scheduler.update(p2, 0.15)
    # Rung 2: the better of its two results moves on to rung 4.
    assert scheduler.suggest() == {'trial': 1, 'max_epochs': 4}


def test_higher_rung_has_priority():
    scheduler = promotion()
    # Fill rung 1 with 4 results, promote two to rung 2, then add two more
    # results at rung 1 so that rung 1 has a promotable trial as well.
    jobs = [scheduler.suggest() for _ in range(4)]
    for job, error in zip(jobs, [0.4, 0.1, 0.3, 0.2]):
        scheduler.update(job, error)
    p1, p2 = scheduler.suggest(), scheduler.suggest()
    scheduler.update(p1, 0.09)
    scheduler.update(p2, 0.15)
    n1, n2 = scheduler.suggest(), scheduler.suggest()
    assert n1 == {'trial': 1, 'max_epochs': 4}  # from rung 2
    assert n2 == {'trial': 4, 'max_epochs': 1}  # nothing else: new
    scheduler.update(n2, 0.05)  # rung 1: 5 results, top 2 = {4, 1}
    assert scheduler.suggest() == {'trial': 4, 'max_epochs': 2}


def test_nothing_is_promoted_beyond_r_max():
    scheduler = promotion(r_max=2)
    assert scheduler.rung_levels == [1, 2]
    jobs = [scheduler.suggest() for _ in range(2)]
    for job, error in zip(jobs, [0.2, 0.1]):
        scheduler.update(job, error)
    top = scheduler.suggest()
    assert top == {'trial': 1, 'max_epochs': 2}
    scheduler.update(top, 0.05)
    other = scheduler.suggest()
    assert other['trial'] == 2 and other['max_epochs'] == 1
    scheduler.update(other, 0.3)
    # rung 2 holds one result; even with two results nothing goes beyond 2
    scheduler.update({'trial': 0, 'max_epochs': 2}, 0.01)
    assert scheduler.suggest() == {'trial': 3, 'max_epochs': 1}


def test_fresh_dicts_and_searcher_updates():
    scheduler = promotion()
    a, b = scheduler.suggest(), scheduler.suggest()
    scheduler.update(a, 0.5)
    scheduler.update(b, 0.3)
    promoted = scheduler.suggest()
    promoted['trial'] = 'changed'  # must not corrupt the scheduler
    assert scheduler.rungs[1][1]['config'] == {'trial': 1}
    assert scheduler.searcher.updates == [
        ({'trial': 0, 'max_epochs': 1}, 0.5),
        ({'trial': 1, 'max_epochs': 1}, 0.3)]


def test_records_results_at_their_rung():
    scheduler = promotion()
    scheduler.update({'trial': 7, 'max_epochs': 4}, 0.2)
    assert [e['config'] for e in scheduler.rungs[4]] == [{'trial': 7}]
    assert scheduler.rungs[4][0] == {'config': {'trial': 7}, 'error': 0.2,
                                     'promoted': False}


# ------------------------------------------------------------- stopping type

def test_stopping_suggests_full_budget():
    scheduler = stopping()
    assert scheduler.suggest() == {'trial': 0, 'max_epochs': 8}
    assert scheduler.rung_levels == [1, 2, 4]


def test_stopping_rule_on_a_sequence():
    scheduler = stopping()
    decisions = [scheduler.should_stop({'trial': i}, 1, error)
                 for i, error in enumerate([0.5, 0.4, 0.6, 0.3, 0.45])]
    # A trial continues iff at most n/eta recorded errors (its own counted in
    # n) are strictly smaller: n=1: 0 smaller, go; n=2: 0, go; n=3: 2 > 1.5,
    # stop; n=4: 0, go; n=5: 2 <= 2.5, go.
    assert decisions == [False, False, True, False, False]
    assert scheduler.rungs[1] == [0.5, 0.4, 0.6, 0.3, 0.45]


def test_stopping_rule_eta_3():
    scheduler = stopping(eta=3, r_max=9)
    errors = [0.5, 0.2, 0.3, 0.1, 0.6, 0.25]
    decisions = [scheduler.should_stop({}, 1, e) for e in errors]
    # smaller errors 0, 0, 1, 0, 4, 2 against n/3 = 1/3, 2/3, 1, 4/3, 5/3, 2
    assert decisions == [False, False, False, False, True, False]


def test_first_result_at_every_rung_continues():
    scheduler = stopping()
    for r in (1, 2, 4):
        assert not scheduler.should_stop({'trial': 0}, r, 0.99)
    # with eta = 2 the second one continues too, however bad
    for r in (1, 2, 4):
        assert not scheduler.should_stop({'trial': 1}, r, 1.0)
    assert scheduler.should_stop({'trial': 2}, 1, 1.5)  # 2 smaller > 3/2


def test_stopping_ties_count_in_favor_of_the_new_error():
    scheduler = stopping()
    assert not any(scheduler.should_stop({}, 1, 0.5) for _ in range(5))
    scheduler = stopping()
    for error in (0.1, 0.2):
        assert not scheduler.should_stop({}, 1, error)
    assert not scheduler.should_stop({}, 1, 0.2)   # 1 smaller <= 3/2
    scheduler = stopping()
    for error in (0.1, 0.1):
        assert not scheduler.should_stop({}, 1, error)
    assert scheduler.should_stop({}, 1, 0.2)       # 2 smaller > 3/2


def test_stopping_only_at_rung_levels_and_per_rung():
    scheduler = stopping()
    for epoch in (3, 5, 6, 7, 8):
        assert not scheduler.should_stop({}, epoch, 0.99)
    assert all(len(v) == 0 for v in scheduler.rungs.values())
    scheduler.should_stop({}, 2, 0.1)
    scheduler.should_stop({}, 1, 0.9)
    assert scheduler.rungs[2] == [0.1] and scheduler.rungs[1] == [0.9]
    # A rung-2 error is only compared with rung-2 errors.
    assert not scheduler.should_stop({}, 2, 0.05)


def test_stopping_update_goes_to_searcher():
    scheduler = stopping()
    config = scheduler.suggest()
    scheduler.update(config, 0.3)
    assert scheduler.searcher.updates == [(config, 0.3)]


# --------------------------------------------- the two variants compared

def reach_second_rung(errors, eta):
    """Trials that reach the second rung level in each variant with one
    worker, if trial i has error errors[i] at every epoch."""
    scheduler = d2l.PromotionASHAScheduler(ListSearcher(len(errors)), eta,
                                           1, eta ** 2)
    try:
        while True:
            config = scheduler.suggest()
            scheduler.update(config, errors[config['trial']])
    except IndexError:  # every trial has been started
        pass
    promoted = {e['config']['trial'] for e in scheduler.rungs[1]
                if e['promoted']}
    scheduler = d2l.StoppingASHAScheduler(ListSearcher(len(errors)), eta,
                                          1, eta ** 2)
    continued = {i for i, e in enumerate(errors)
                 if not scheduler.should_stop({'trial': i}, 1, e)}
    return promoted, continued


def top(errors, m, eta):
    """Indices of the top floor(m / eta) among the first m errors (ties:
    earlier first)."""
    order = sorted(range(m), key=lambda i: (errors[i], i))
    return set(order[:int(m / eta)])


def test_the_examples_of_the_section():
    # second_rung('first is worst', ...) and ('late climber', ...)
    assert reach_second_rung([0.9, 0.4, 0.5, 0.6, 0.7, 0.8], 2) == (
        {1, 2, 3}, {0, 1, 2, 3})
    assert reach_second_rung([0.1, 0.2, 0.5, 0.6, 0.7, 0.8], 2) == (
        {0, 1, 2}, {0, 1})


@pytest.mark.parametrize('eta', [2, 3])
@pytest.mark.parametrize('seed', range(20))
def test_decisions_of_both_variants_with_one_worker(eta, seed):
    rng = random.Random(seed)
    errors = [round(rng.random(), 1) for _ in range(rng.randint(1, 25))]
    promoted, continued = reach_second_rung(errors, eta)
    n = len(errors)
    # Promotion with one worker: every trial that was ever in the top.
    assert promoted == set().union(*(top(errors, m, eta)
                                     for m in range(1, n + 1)))
    # Stopping: at most m/eta of the first m errors are smaller than the m-th.
    assert continued == {m - 1 for m in range(1, n + 1)
                         if sum(e < errors[m - 1] for e in errors[:m])
                         <= m / eta}
    # A trial in the top on arrival is promoted at once and also continued;
    # the stopping variant continues the first trial in any case.
    on_arrival = {m - 1 for m in range(1, n + 1)
                  if m - 1 in top(errors, m, eta)}
    assert on_arrival <= promoted & continued
    assert 0 in continued


# ------------------------------------- agreement with Syne Tune's ASHA
# Syne Tune 0.16's ASHA, driven as its Tuner drives it, and the book's
# StoppingASHAScheduler get the same reports: several trials interleaved,
# integer epochs, errors with ties. Every decision below max_t must agree;
# at max_t Syne Tune answers STOP, and the book's scheduler, which decides
# only at the rung levels below r_max, lets the trial end there. r_max is a
# power of eta, so that both use the same rung levels (Syne Tune keeps
# r_min * eta**K below r_max where d2l.rung_levels jumps to r_max).

def syne_tune_asha(eta, max_t, seed):
    from syne_tune.config_space import randint
    from syne_tune.optimizer.baselines import ASHA
    return ASHA({'trial': randint(0, 10 ** 6)}, metric='error',
                do_minimize=True, time_attr='epoch', max_t=max_t,
                grace_period=1, reduction_factor=eta, random_seed=seed)


def report_streams(eta, max_t, seed, n_trials=60):
    """Yield (book's decision, Syne Tune's decision, epoch) for a random,
    interleaved stream of reports."""
    pytest.importorskip('syne_tune')
    from syne_tune.backend.trial_status import Trial
    rng = random.Random(seed)
    ours = d2l.StoppingASHAScheduler(None, eta, 1, max_t)
    theirs = syne_tune_asha(eta, max_t, seed)
    running, started = {}, 0  # trial id -> [Syne Tune trial, next epoch]
    while started < n_trials or running:
        if started < n_trials and (not running or rng.random() < 0.3):
            trial = Trial(trial_id=started, config={'trial': started},
                          creation_time=datetime.datetime(2000, 1, 1))
            theirs.on_trial_add(trial)
            running[started] = [trial, 1]
            started += 1
            continue
        trial_id = rng.choice(sorted(running))
        trial, epoch = running[trial_id]
        error = round(rng.random(), rng.choice([1, 2, 3]))
        stop = ours.should_stop({'trial': trial_id}, epoch, error)
        decision = theirs.on_trial_result(
            trial, {'epoch': epoch, 'error': error})
        yield stop, decision, epoch
        if decision == 'STOP':
            theirs.on_trial_remove(trial)
            del running[trial_id]
        else:
            running[trial_id][1] += 1


@pytest.mark.parametrize('eta, max_t', [(2, 8), (3, 9)])
@pytest.mark.parametrize('seed', range(8))
def test_stopping_asha_agrees_with_syne_tune(eta, max_t, seed):
    decisions = list(report_streams(eta, max_t, seed))
    below = [(stop, decision) for stop, decision, epoch in decisions
             if epoch < max_t]
    assert all(stop == (decision == 'STOP') for stop, decision in below)
    assert all(decision == 'STOP' and not stop
               for stop, decision, epoch in decisions if epoch == max_t)
    # Not a trivial agreement: both decisions occur, at several rungs.
    assert {stop for stop, _ in below} == {True, False}
    assert len({epoch for stop, _, epoch in decisions if stop}) >= 2


def test_simulated_runs_identical_to_syne_tunes_asha():
    pytest.importorskip('syne_tune')
    table = d2l.load_learning_curves('mlp_learning_curves.csv')
    max_time = 8 * table.seconds.sum(axis=1).mean()
    simulator = d2l.Simulator(table, 4, max_time)

    def make(space, points):
        from syne_tune.optimizer.baselines import ASHA
        return ASHA(space, metric='validation_error', do_minimize=True,
                    time_attr='epoch', max_t=27, grace_period=1,
                    reduction_factor=3, points_to_evaluate=points,
                    random_seed=0)

    for seed in range(3):
        ours = simulator.run(d2l.StoppingASHAScheduler(
            d2l.TableSearcher(table, seed), 3, 1, 27))
        theirs = simulator.run(d2l.SyneTuneScheduler(
            d2l.TableSearcher(table, seed), make))
        assert (ours.times, ours.best_errors, ours.busy, ours.n_jobs,
                ours.n_trials) == (theirs.times, theirs.best_errors,
                                   theirs.busy, theirs.n_jobs,
                                   theirs.n_trials)
        assert ours.n_trials > 40  # trials were stopped


def test_syne_tune_adapter_refuses_to_repeat_a_row():
    pytest.importorskip('syne_tune')
    from syne_tune.optimizer.baselines import RandomSearch
    table = d2l.LearningCurves([{'x': i} for i in range(3)],
                               [[0.5]] * 3, [[1.0]] * 3)
    scheduler = d2l.SyneTuneScheduler(
        d2l.TableSearcher(table, 0), lambda space, points: RandomSearch(
            space, metrics=['validation_error'], do_minimize=True,
            points_to_evaluate=points, random_seed=0))
    rows = [table.row(scheduler.suggest()) for _ in range(3)]
    assert sorted(rows) == [0, 1, 2]
    with pytest.raises(d2l.OutOfConfigurations, match='all 3 configurations'):
        scheduler.suggest()


# ------------------------------------------------------------ failures
# A NaN or infinite error (d2l.is_failure) is never recorded at a rung, so it
# is never promoted, the stopping variant stops the trial at the first rung
# level it reaches, and the finite results are ranked as if it were absent.

FAILURES = [math.nan, math.inf, -math.inf]
FINITE = [0.5, 0.3, 0.4, 0.2]


class IdSearcher(d2l.HPOSearcher):
    """Hands out {'trial': i} for the given ids; IndexError when used up."""

    def __init__(self, ids):
        self.configs = [{'trial': i} for i in ids]

    def sample_configuration(self):
        return self.configs.pop(0)


def with_failure(errors, position, failure):
    """errors with `failure` inserted at `position`; the trial ids."""
    errors = errors[:position] + [failure] + errors[position:]
    return errors, list(range(len(errors)))


def one_worker_promotion(ids, error_of, eta):
    """Run promotion-type ASHA with one worker until the searcher is used
    up; the rungs as (trial, error, promoted) lists."""
    scheduler = d2l.PromotionASHAScheduler(IdSearcher(ids), eta, 1, eta ** 2)
    try:
        while True:
            config = scheduler.suggest()
            scheduler.update(config, error_of[config['trial']])
    except IndexError:
        pass
    return {r: [(e['config']['trial'], e['error'], e['promoted'])
                for e in entries] for r, entries in scheduler.rungs.items()}


@pytest.mark.parametrize('eta', [2, 3])
@pytest.mark.parametrize('position', [0, 2, 4])  # first, middle, last
@pytest.mark.parametrize('failure', FAILURES, ids=str)
def test_promotion_ignores_a_failed_result(eta, position, failure):
    errors, ids = with_failure(FINITE, position, failure)
    error_of = dict(zip(ids, errors))
    rungs = one_worker_promotion(ids, error_of, eta)
    absent = one_worker_promotion(
        [i for i in ids if i != position], error_of, eta)
    assert rungs == absent  # never recorded, the others ranked as before
    assert all(trial != position for entries in rungs.values()
               for trial, _, _ in entries)


@pytest.mark.parametrize('failure', FAILURES, ids=str)
def test_promotion_ignores_a_failure_at_a_higher_rung(failure):
    scheduler = promotion()
    jobs = [scheduler.suggest() for _ in range(5)]
    for job, error in zip(jobs, [0.1, 0.2, 0.3, 0.4, 0.5]):
        scheduler.update(job, error)
    # the top 2 of rung 1 are promoted to rung 2, one of them fails there
    promoted = [scheduler.suggest(), scheduler.suggest()]
    assert [job['trial'] for job in promoted] == [0, 1]
    scheduler.update(promoted[0], failure)
    scheduler.update(promoted[1], 0.15)
    assert [e['config'] for e in scheduler.rungs[2]] == [{'trial': 1}]
    # rung 2 holds one result: nothing goes on to rung 4, a new trial starts
    assert scheduler.suggest() == {'trial': 5, 'max_epochs': 1}
    # the searcher heard the failure
    assert scheduler.searcher.updates[-2][1] is failure


def stopping_decisions(errors, eta=2, r=1):
    scheduler = stopping(eta=eta, r_max=eta ** 3)
    return [scheduler.should_stop({'trial': i}, r, error)
            for i, error in enumerate(errors)], scheduler


@pytest.mark.parametrize('eta', [2, 3])
@pytest.mark.parametrize('position', [0, 2, 4])
@pytest.mark.parametrize('failure', FAILURES, ids=str)
def test_stopping_stops_a_failure_and_ranks_as_if_absent(eta, position,
                                                         failure):
    errors, _ = with_failure(FINITE, position, failure)
    decisions, scheduler = stopping_decisions(errors, eta)
    expected, clean = stopping_decisions(FINITE, eta)
    assert decisions[position] is True
    assert decisions[:position] + decisions[position + 1:] == expected
    assert scheduler.rungs == clean.rungs


@pytest.mark.parametrize('failure', FAILURES, ids=str)
def test_stopping_decides_about_a_failure_at_its_next_rung_level(failure):
    scheduler = stopping()
    config = {'trial': 0}
    assert not scheduler.should_stop(config, 1, 0.5)
    assert not scheduler.should_stop(config, 2, 0.4)
    # epoch 3 is no rung level: no decision, even on a failure
    assert not scheduler.should_stop(config, 3, failure)
    assert scheduler.should_stop(config, 4, failure)  # first decision: stop
    assert scheduler.rungs == {1: [0.5], 2: [0.4], 4: []}


@pytest.mark.parametrize('failure', FAILURES, ids=str)
def test_a_failed_first_result_leaves_the_rung_empty(failure):
    decisions, scheduler = stopping_decisions([failure, 0.9, 0.1])
    # the first finite result is then the first at the rung: it continues
    assert decisions == [True, False, False]
    assert scheduler.rungs[1] == [0.9, 0.1]
