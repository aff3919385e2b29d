"""Promotion-type and stopping-type ASHA of sh-async.md (d2l.hpo)."""
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
    # n=1: rank 1 > 1/2 stop; n=2: rank 1 <= 1 go; n=3: rank 3 > 1.5 stop;
    # n=4: rank 1 <= 2 go; n=5: rank 3 > 2.5 stop.
    assert decisions == [True, False, True, False, True]
    assert scheduler.rungs[1] == [0.5, 0.4, 0.6, 0.3, 0.45]


def test_stopping_rule_eta_3():
    scheduler = stopping(eta=3, r_max=9)
    errors = [0.5, 0.2, 0.3, 0.1, 0.6, 0.25]
    decisions = [scheduler.should_stop({}, 1, e) for e in errors]
    # ranks 1, 1, 2, 1, 5, 3 against n/3 = 1/3, 2/3, 1, 4/3, 5/3, 2
    assert decisions == [True, True, True, False, True, True]


def test_stopping_ties_count_earlier_results_as_better():
    scheduler = stopping()
    assert scheduler.should_stop({}, 1, 0.5)       # n = 1
    assert scheduler.should_stop({}, 1, 0.5)       # rank 2 of 2
    assert not scheduler.should_stop({}, 1, 0.4)   # rank 1 of 3


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


# ------------------------------------------------------ agreement of both

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


@pytest.mark.parametrize('eta', [2, 3])
def test_agree_on_improving_sequences(eta):
    errors = [1 - 0.05 * i for i in range(12)]
    promoted, continued = reach_second_rung(errors, eta)
    assert promoted == continued
    assert promoted == {i for i in range(12) if (i + 1) // eta >= 1}


def test_disagree_when_a_trial_climbs_later():
    promoted, continued = reach_second_rung([0.4, 0.9, 0.8, 0.7, 0.6, 0.5], 2)
    assert promoted == {0, 3, 4, 5}
    assert continued == {3, 4, 5}


@pytest.mark.parametrize('eta', [2, 3])
@pytest.mark.parametrize('seed', range(20))
def test_agreement_exactly_when_nothing_climbs(eta, seed):
    rng = random.Random(seed)
    errors = [round(rng.random(), 1) for _ in range(rng.randint(1, 25))]
    promoted, continued = reach_second_rung(errors, eta)
    n = len(errors)
    # Promotion with one worker: every trial that was ever in the top.
    assert promoted == set().union(*(top(errors, m, eta)
                                     for m in range(1, n + 1)))
    # Stopping: a trial continues iff it is in the top on arrival.
    assert continued == {m - 1 for m in range(1, n + 1)
                         if m - 1 in top(errors, m, eta)}
    assert continued <= promoted
    nothing_climbs = all(top(errors, m, eta) <= continued
                         for m in range(1, n + 1))
    assert (promoted == continued) == nothing_climbs
