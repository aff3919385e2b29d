"""Diverged and crashed trials (issue 19): a result for which
``d2l.is_failure`` is true (NaN, +inf, -inf) is never promoted by
synchronous successive halving or Hyperband, the finite results are ranked
as if it were absent, and the round still completes; ``HPOTuner`` records a
crashed trial as failed and goes on; Syne Tune, as the chapter uses it,
marks a crashed trial ``Failed`` and goes on too.

The schedulers of :numref:`sec_mf_hpo` are driven here with made-up errors;
no network is trained.
"""
import datetime
import itertools
import logging
import math
import random
import re
import sys
import textwrap

import pytest

from d2l import hpo
from fake_searchers import CountingSearcher

SH = hpo.SuccessiveHalvingScheduler
HB = hpo.HyperbandScheduler
FAILURES = [math.nan, math.inf, -math.inf]


def finite_error(config_id, epochs):
    """A made-up, reproducible error of a configuration after `epochs`."""
    return random.Random(config_id * 1000 + epochs).random()


def expected_round(first_ids, num_trials, levels, error):
    """(id, epochs) of the evaluations of one round of SH, computed
    independently of the scheduler: at every rung the finite errors are
    ranked (ties by position) and the best num_trials[k + 1] move up, best
    first; failures are left out; the round ends at the top rung or when
    nothing is left to promote."""
    evaluated, ids = [], list(first_ids)
    for k, r in enumerate(levels):
        results = [(error(i, r, position), position, i)
                   for position, i in enumerate(ids)]
        evaluated += [(i, r) for i in ids]
        if k == len(levels) - 1:
            break
        finite = sorted(result for result in results
                        if math.isfinite(result[0]))
        ids = [i for _, _, i in finite[:num_trials[k + 1]]]
        if not ids:
            break
    return evaluated


def drive(scheduler, error, n):
    """Drive `scheduler` like the sequential tuner for n evaluations;
    return [(id, epochs)]. error(id, epochs, position at the rung)."""
    evaluated, positions = [], {}
    for _ in range(n):
        config = scheduler.suggest()
        assert config is not None, 'a sequential run never has to wait'
        key = (scheduler.rounds_completed, config['max_epochs'])
        positions[key] = positions.get(key, -1) + 1
        evaluated.append((config['id'], config['max_epochs']))
        scheduler.update(config, error(config['id'], config['max_epochs'],
                                       positions[key]))
    return evaluated


def failing_at(rung_level, positions, value, failed=None):
    """error(id, epochs, position): `value` for the given positions of the
    rung with `rung_level` epochs, finite errors elsewhere; the ids that
    failed are added to the set `failed`."""
    def error(config_id, epochs, position):
        if epochs == rung_level and position in positions:
            if failed is not None:
                failed.add(config_id)
            return value
        return finite_error(config_id, epochs)
    return error


def sh_cases():
    """(rung index, positions that fail) for every single position of
    every rung, and for the whole lowest rung but one, and all of it."""
    num_trials = [8, 4, 2, 1]
    cases = [(k, (p,)) for k, n in enumerate(num_trials) for p in range(n)]
    cases += [(0, tuple(range(1, 8))), (0, tuple(range(8))),
              (1, (0, 1, 2)), (2, (0, 1))]
    return cases


@pytest.mark.parametrize('value', FAILURES, ids=['nan', 'inf', '-inf'])
@pytest.mark.parametrize('rung, positions', sh_cases())
def test_successive_halving_never_promotes_a_failure(rung, positions, value):
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    level = scheduler.rung_levels[rung]
    failed = set()
    error = failing_at(level, positions, value, failed)
    expected = expected_round(range(8), scheduler.num_trials,
                              scheduler.rung_levels,
                              failing_at(level, positions, value))
    evaluated = drive(scheduler, error, len(expected))
    assert evaluated == expected
    assert len(failed) == len(positions)
    # Failed configurations do not appear at any higher rung
    assert not [(i, r) for i, r in evaluated if i in failed and r > level]
    # The round completed: the next suggestion starts a new round
    assert scheduler.rounds_completed == 1
    assert scheduler.suggest() == {'id': 8, 'max_epochs': 1}


def test_promotions_rank_the_finite_errors_as_if_the_failure_were_absent():
    # The case of issue 19: before the rule, the NaN configuration was
    # promoted with another one, and 0.5 was ranked ahead of 0.3.
    errors = [0.5, math.nan, 0.3, 0.4]
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=4)
    evaluated = drive(scheduler, lambda i, r, p: errors[i] if r == 1
                      else finite_error(i, r), 4)
    assert [c['id'] for c in scheduler.queue] == [2, 3]
    # The same promotions as with the failed configuration left out
    without = SH(CountingSearcher(), eta=2, r_min=1, r_max=4)
    without.num_trials = [3, 2, 1]
    finite = [0.5, 0.3, 0.4]
    drive(without, lambda i, r, p: finite[i], 3)
    assert [finite[c['id']] for c in without.queue] == \
        [errors[c['id']] for c in scheduler.queue]
    assert evaluated == [(0, 1), (1, 1), (2, 1), (3, 1)]


def test_fewer_finite_results_than_slots_shrink_the_next_rung():
    # 8 at rung 0, only 2 finite: 2 move up, not 4; rung 2 has 2 slots,
    # so both of them move on, and the best one to the top
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    error = failing_at(1, (0, 2, 3, 4, 6, 7), math.nan)
    evaluated = drive(scheduler, error, 8 + 2 + 2 + 1)
    assert [r for _, r in evaluated] == [1] * 8 + [2, 2, 4, 4, 8]
    assert {i for i, r in evaluated if r == 2} == {1, 5}
    assert scheduler.rounds_completed == 1
    assert scheduler.suggest()['max_epochs'] == 1


def test_a_rung_of_failures_ends_the_round():
    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    drive(scheduler, lambda i, r, p: math.nan, 8)
    assert scheduler.rounds_completed == 1
    assert scheduler.suggest() == {'id': 8, 'max_epochs': 1}


def test_failures_reach_the_searcher():
    searcher = CountingSearcher()
    scheduler = SH(searcher, eta=2, r_min=1, r_max=2)
    config = scheduler.suggest()
    scheduler.update(config, math.nan, info={'exception': 'E: x'})
    assert math.isnan(searcher.updates[0][1])
    assert searcher.updates[0][2] == {'exception': 'E: x'}


def run_in_parallel(scheduler, n_workers, error, n_results, seed=0):
    """Emulate n_workers that report in random order; return the
    evaluations [(id, epochs, error)] in the order they were reported."""
    rng = random.Random(seed)
    running, reported = [], []
    while len(reported) < n_results:
        while len(running) < n_workers:
            config = scheduler.suggest()
            if config is None:
                break
            running.append(config)
        assert running, 'the scheduler waits, but nothing is running'
        config = running.pop(rng.randrange(len(running)))
        value = error(config)
        reported.append((config['id'], config['max_epochs'], value))
        scheduler.update(config, value)
    return reported


@pytest.mark.parametrize('make', [
    lambda s: SH(s, eta=2, r_min=1, r_max=8),
    lambda s: SH(s, eta=3, r_min=1, r_max=9, prefact=2),
    lambda s: HB(s, eta=2, r_min=1, r_max=8),
    lambda s: HB(s, eta=3, r_min=1, r_max=27)], ids=['sh2', 'sh3', 'hb2',
                                                     'hb3'])
def test_parallel_workers_never_wait_for_a_failed_trial(make):
    def error(config):  # about a third of the configurations fail
        if random.Random(config['id']).random() < 0.35:
            return random.Random(config['id']).choice(FAILURES)
        return finite_error(config['id'], config['max_epochs'])

    scheduler = make(CountingSearcher())
    reported = run_in_parallel(scheduler, 3, error, 400)
    first_level = {}
    for i, r, value in reported:
        first_level.setdefault(i, r)
    failed = {i for i, r, value in reported if not math.isfinite(value)}
    # A failed configuration is never evaluated beyond its first rung
    assert not [(i, r) for i, r, _ in reported
                if i in failed and r > first_level[i]]
    completed = (sum(b.rounds_completed for b in scheduler.brackets)
                 if isinstance(scheduler, HB) else scheduler.rounds_completed)
    assert completed >= 3


def hyperband_bracket_evaluations(hyperband, error):
    """Evaluate one pass over all brackets; return [(bracket, id, epochs)]."""
    out = []
    for b in range(len(hyperband.brackets)):
        positions = {}
        while hyperband.current == b:
            config = hyperband.suggest()
            r = config['max_epochs']
            position = positions.get(r, 0)
            positions[r] = position + 1
            out.append((b, config['id'], r))
            hyperband.update(config, error(b, config['id'], r, position))
    return out


@pytest.mark.parametrize('value', FAILURES, ids=['nan', 'inf', '-inf'])
def test_hyperband_brackets_never_promote_a_failure(value):
    # In every bracket, fail each position of each rung in turn (one
    # failure per pass) and compare with the reference round.
    sizes = HB(CountingSearcher(), eta=2, r_min=1, r_max=8).bracket_sizes()
    cases = [(b, k, p) for b, bracket in enumerate(sizes)
             for k, (n, _) in enumerate(bracket) for p in range(n)]
    for b_fail, k_fail, p_fail in cases:
        hyperband = HB(CountingSearcher(), eta=2, r_min=1, r_max=8)
        level = hyperband.brackets[b_fail].rung_levels[k_fail]

        def error(b, i, r, position):
            if (b, r, position) == (b_fail, level, p_fail):
                return value
            return finite_error(i, r)

        out = hyperband_bracket_evaluations(hyperband, error)
        first_id = 0
        for b, bracket in enumerate(hyperband.brackets):
            n0 = bracket.num_trials[0]
            expected = expected_round(
                range(first_id, first_id + n0), bracket.num_trials,
                bracket.rung_levels,
                lambda i, r, p, b=b: error(b, i, r, p))
            assert [(i, r) for bb, i, r in out if bb == b] == expected
            first_id += n0
        assert hyperband.current == 0  # every bracket finished its round
        assert all(b.rounds_completed == 1 for b in hyperband.brackets)


# ------------------------------------------------------------- HPOTuner

def quadratic(x, max_epochs=None):
    return (x - 0.3) ** 2


class ListSearcher(hpo.HPOSearcher):
    def __init__(self, xs):
        self.xs = list(xs)

    def sample_configuration(self):
        return {'x': self.xs.pop(0)}


class RecordingScheduler(hpo.BasicScheduler):
    def __init__(self, searcher):
        super().__init__(searcher)
        self.updates = []

    def update(self, config, error, info=None):
        self.updates.append((dict(config), error, info))


def crashing_objective(crash_at, exception):
    calls = itertools.count()

    def objective(**config):
        if next(calls) == crash_at:
            raise exception
        return quadratic(**config)
    return objective


def test_a_crash_is_recorded_and_the_run_goes_on(capsys):
    xs = [0.5, 0.3, 0.1, 0.6, 0.2]  # trial 1, the best x, crashes
    scheduler = RecordingScheduler(ListSearcher(xs))
    tuner = hpo.HPOTuner(scheduler, crashing_objective(
        1, ValueError('loss is NaN at step 7')))
    tuner.run(number_of_trials=5)
    assert len(tuner.records) == 5
    failed = [r for r in tuner.records if r['status'] == 'failed']
    assert len(failed) == 1 and failed[0] is tuner.records[1]
    assert failed[0]['exception'] == 'ValueError: loss is NaN at step 7'
    assert math.isnan(failed[0]['error'])
    assert all(r['status'] == 'completed' and 'exception' not in r
               for r in tuner.records if r is not failed[0])
    # The incumbent is the best of the others, as if trial 1 were absent
    assert tuner.incumbent == {'x': 0.2}
    assert tuner.incumbent_error == pytest.approx(quadratic(0.2))
    assert tuner.incumbent_trajectory == pytest.approx(
        [quadratic(0.5), quadratic(0.5), quadratic(0.1), quadratic(0.1),
         quadratic(0.2)])
    # The scheduler was told, with NaN and the exception
    config, error, info = scheduler.updates[1]
    assert config == {'x': 0.3} and math.isnan(error)
    assert info == {'exception': 'ValueError: loss is NaN at step 7'}
    assert all(info is None for _, _, info in scheduler.updates[:1] +
               scheduler.updates[2:])
    # One plain line names the configuration and the error
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    assert lines[1].startswith('trial 1: x=0.3 -> failed with ValueError: '
                               'loss is NaN at step 7')
    assert 'error' in lines[0] and 'failed' not in lines[0]


def test_a_crash_in_the_first_trial_leaves_no_incumbent_yet():
    import matplotlib
    matplotlib.use('Agg')
    tuner = hpo.HPOTuner(hpo.BasicScheduler(ListSearcher([0.1, 0.4])),
                         crashing_objective(0, RuntimeError('boom')))
    tuner.run(number_of_trials=2, verbose=False)
    assert tuner.incumbent_trajectory[0] == math.inf
    assert tuner.incumbent == {'x': 0.4}
    axes = tuner.plot_anytime()  # a NaN dot and an infinite step: no error
    assert len(axes.get_lines()) == 2
    matplotlib.pyplot.close('all')


def test_keyboard_interrupt_stops_the_run_and_keeps_the_records():
    tuner = hpo.HPOTuner(
        hpo.BasicScheduler(ListSearcher([0.1, 0.2, 0.3, 0.4])),
        crashing_objective(2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        tuner.run(number_of_trials=4, verbose=False)
    assert [r['config'] for r in tuner.records] == [{'x': 0.1}, {'x': 0.2}]
    assert tuner.incumbent == {'x': 0.2}


def test_successive_halving_with_a_crashing_objective_completes_its_round():
    def objective(id, max_epochs):
        if id == 3:
            raise MemoryError('out of memory')
        return finite_error(id, max_epochs)

    scheduler = SH(CountingSearcher(), eta=2, r_min=1, r_max=8)
    tuner = hpo.HPOTuner(scheduler, objective)
    tuner.run(number_of_trials=15, verbose=False)
    assert scheduler.rounds_completed == 1
    assert [r['config']['id'] for r in tuner.records
            if r['status'] == 'failed'] == [3]
    assert tuner.records[3]['exception'] == 'MemoryError: out of memory'
    assert all(r['config']['id'] != 3 for r in tuner.records[8:])


# ------------------------------------------------------------- Syne Tune

TRIAL_SCRIPT = textwrap.dedent('''\
    import sys
    from argparse import ArgumentParser

    from syne_tune import Reporter

    if __name__ == '__main__':
        parser = ArgumentParser()
        parser.add_argument('--x', type=float, required=True)
        args, _ = parser.parse_known_args()
        report = Reporter()
        for epoch in (1, 2):
            if args.x == 0.5 and epoch == 2:  # only this configuration
                sys.exit('training crashed')  # exit status 1
            report(epoch=epoch, error=(args.x - 0.3) ** 2 + 1 / epoch)
    ''')


def syne_tune_tuner(tmp_path, monkeypatch, points):
    """The chapter's LocalBackend settings, 2 workers, TRIAL_SCRIPT."""
    pytest.importorskip('syne_tune')
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend import LocalBackend
    from syne_tune.config_space import uniform
    from syne_tune.optimizer.baselines import RandomSearch
    from syne_tune.tuner_logger import TunerLogger

    monkeypatch.setenv('SYNETUNE_FOLDER', str(tmp_path / 'syne-tune'))
    monkeypatch.chdir(tmp_path)
    script = tmp_path / 'trial_script.py'
    script.write_text(TRIAL_SCRIPT)
    scheduler = RandomSearch({'x': uniform(0, 1)}, metrics=['error'],
                             do_minimize=True, points_to_evaluate=points)
    return Tuner(
        trial_backend=LocalBackend(entry_point=str(script),
                                   binary=sys.executable, rotate_gpus=False),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_trials_finished=3),
        n_workers=2, sleep_time=0.5, tuner_name='failed-trials',
        output_logger=TunerLogger(use_colors=False, use_emojis=False))


def test_syne_tune_marks_a_crashed_trial_failed_and_goes_on(
        tmp_path, monkeypatch, capfd):
    # "A trial whose training script exits with an error gets the status
    # `Failed`, which the tuner's log shows, and tuning goes on"
    from syne_tune.backend.trial_status import Status
    points = [{'x': 0.1}, {'x': 0.5}, {'x': 0.2}, {'x': 0.4}]
    tuner = syne_tune_tuner(tmp_path, monkeypatch, points)
    tuner.run()
    # Tuning went on: one failed trial, the three others completed
    status = tuner.tuning_status
    assert status.num_trials_failed == 1
    assert status.num_trials_completed >= 3
    seen = dict(status.last_trial_status_seen)
    assert {t: seen[t] for t in range(4)} == {
        0: Status.completed, 1: Status.failed, 2: Status.completed,
        3: Status.completed}
    assert list(seen.values()).count(Status.failed) == 1  # later ones: no
    # The tuner's log names the status
    assert re.search(r'^\s*1\s+Failed\s', capfd.readouterr().out,
                     re.MULTILINE)
    # The failed trial (the second point, x = 0.5) reported its first
    # epoch; the others reported both. (A free worker may have started a
    # fifth, random trial before the stopping criterion was checked.)
    from syne_tune.experiments import load_experiment
    results = load_experiment(tuner.name).results
    results = results[results.trial_id < len(points)]
    assert results.groupby('trial_id')['epoch'].max().to_dict() == \
        {0: 2, 1: 1, 2: 2, 3: 2}
    assert results[results.trial_id == 1]['config_x'].tolist() == [0.5]


def test_syne_tune_stops_after_more_than_max_failures(tmp_path, monkeypatch):
    # "until more trials have failed than the argument `max_failures` of its
    # `Tuner` allows (one, by default), when the whole experiment stops with
    # an error"
    points = [{'x': 0.5}, {'x': 0.5}, {'x': 0.1}, {'x': 0.2}]
    tuner = syne_tune_tuner(tmp_path, monkeypatch, points)
    assert tuner.max_failures == 1
    with pytest.raises(ValueError, match='failed'):
        tuner.run()
    assert tuner.tuning_status.num_trials_failed == 2


def asha_decisions(errors, eta):
    """Syne Tune's ASHA decisions for results at epoch 1 of new trials."""
    pytest.importorskip('syne_tune')
    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import uniform
    from syne_tune.optimizer.baselines import ASHA
    logging.disable(logging.WARNING)  # a notice about points_to_evaluate
    try:
        scheduler = ASHA({'x': uniform(0, 1)}, metric='error',
                         do_minimize=True, time_attr='epoch', max_t=8,
                         grace_period=1, reduction_factor=eta,
                         random_seed=0)
    finally:
        logging.disable(logging.NOTSET)
    decisions = []
    for trial_id, error in enumerate(errors):
        trial = Trial(trial_id, {'x': 0.5}, datetime.datetime.now())
        scheduler.on_trial_add(trial)
        decisions.append(scheduler.on_trial_result(
            trial, {'epoch': 1, 'error': error}))
    return decisions


@pytest.mark.parametrize('failure', [math.nan, math.inf])
def test_syne_tune_asha_continues_a_nan_that_comes_early(failure):
    # "The `ASHA` scheduler of Syne Tune 0.16 ranks it behind all finite
    # errors, but, like any result that arrives at a rung where few results
    # are recorded yet, it is answered with CONTINUE"
    assert asha_decisions([failure], eta=2) == ['CONTINUE']
    assert asha_decisions([0.3, failure], eta=2)[-1] == 'CONTINUE'
    assert asha_decisions([0.3, 0.4, failure], eta=2)[-1] == 'STOP'
    assert asha_decisions([0.3, 0.4, 0.5, 0.6, failure], eta=3)[-1] == \
        'STOP'
    # behind all finite errors: a finite result after it is ranked first
    assert asha_decisions([failure, 0.9], eta=2) == ['CONTINUE'] * 2
