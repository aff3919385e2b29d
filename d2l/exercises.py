"""Checks that students run on their own solutions of the exercises.

``d2l.check_exercise('asha-scratch', 2, MyScheduler)`` runs the code of an
exercise that asks for an implementation on small cases whose answers are
known, prints one line per case (pass or fail, expected and actual values,
and a hint when it fails) and returns True when every case passes.

The expected values are written out case by case; no reference solution is
shipped with the library.
"""
import dataclasses
import itertools
import math
import random

from d2l import hpo


@dataclasses.dataclass
class Case:
    """The outcome of one case of a check."""
    name: str
    passed: bool
    expected: object = None
    actual: object = None
    hint: str = ''


def _case(name, expected, run, hint, same=None):
    """Run `run()` and compare its value with `expected`; an exception is a
    failure that shows its message."""
    try:
        actual = run()
    except Exception as e:  # the student's code raised: report, go on
        return Case(name, False, expected, f'{type(e).__name__}: {e}', hint)
    passed = same(expected, actual) if same else expected == actual
    return Case(name, bool(passed), expected, actual, hint)


def _raises(error, run):
    """The name of the exception that run() raises, or 'no exception'."""
    try:
        run()
    except error:
        return error.__name__
    except Exception as e:
        return type(e).__name__
    return 'no exception'


class CountingSearcher(hpo.HPOSearcher):
    """Proposes {'x': 0}, {'x': 1}, ... and keeps the updates it receives."""

    def __init__(self):
        self.count, self.updates = 0, []

    def sample_configuration(self):
        self.count += 1
        return {'x': self.count - 1}

    def update(self, config, error, additional_info=None):
        self.updates.append((dict(config), error))


# Choice (hyperopt-intro, exercise 3)

def _check_choice(Choice):
    values = ['sgd', 'adam', 'rmsprop']
    yield _case('Choice([]) raises ValueError', 'ValueError',
                lambda: _raises(ValueError, lambda: Choice([])),
                'check the list in __init__, as check_domain_bounds does')
    yield _case('a sample is one of the values', True,
                lambda: Choice(values).sample(random.Random(0)) in values,
                'sample(rng) returns rng.choice(self.values)')

    def frequencies():
        rng, domain = random.Random(1), Choice(values)
        draws = [domain.sample(rng) for _ in range(3000)]
        return {v: round(draws.count(v) / len(draws), 3) for v in values}
    yield _case('3,000 samples: every value about 1/3 of the time',
                {v: 0.333 for v in values}, frequencies,
                'every value must be drawn with the same probability; is '
                'one of them never drawn?',
                same=lambda e, a: all(abs(a[v] - e[v]) < 0.04 for v in e))

    def same_seed():
        domain = Choice(values)
        draws = lambda: [domain.sample(rng) for rng in [random.Random(3)]
                         for _ in range(20)]
        return draws() == draws()
    yield _case('the same seed gives the same samples', True, same_seed,
                'draw with the rng passed to sample, not with the random '
                'module')
    yield _case('RandomSearcher samples it', True,
                lambda: hpo.RandomSearcher({'optimizer': Choice(values)}
                                           ).sample_configuration()[
                    'optimizer'] in values,
                'RandomSearcher samples only instances of d2l.Domain; '
                'anything else it treats as a constant')
    yield _case('repr(Choice([1, 2])) works', True,
                lambda: isinstance(repr(Choice([1, 2])), str),
                "Domain.__repr__ shows lower and upper, which Choice lacks: "
                'define __repr__')


# GridSearcher (hyperopt-api, exercise 1)

def _check_grid_searcher(GridSearcher):
    grid = {'learning_rate': [0.1, 0.01, 0.001], 'batch_size': [16, 64]}
    product = [dict(zip(grid, values))
               for values in itertools.product(*grid.values())]

    def first(n):
        searcher = GridSearcher(grid)
        return [searcher.sample_configuration() for _ in range(n)]
    yield _case('the first configuration', product[0], lambda: first(1)[0],
                'return a dict from each name of the grid to a value')
    key = lambda configs: sorted(tuple(sorted(c.items())) for c in configs)
    yield _case('six calls give the 3 x 2 configurations of the grid',
                key(product), lambda: key(first(len(product))),
                'enumerate the Cartesian product, e.g. with '
                'itertools.product(*grid.values()), each one once')

    def tuner_best():
        def objective(learning_rate, batch_size):
            return abs(math.log10(learning_rate) + 2) + batch_size / 1000
        tuner = hpo.HPOTuner(hpo.BasicScheduler(GridSearcher(grid)),
                             objective)
        tuner.run(number_of_trials=len(product), verbose=False)
        return round(tuner.incumbent_error, 3)
    yield _case('HPOTuner finds the best point of the grid', 0.016,
                tuner_best, 'update(config, error, additional_info=None) '
                'is called after each trial; the searcher may ignore it')


# A stopping scheduler with the promotion rule (asha-scratch, exercise 2)

def _decisions(scheduler, results):
    """should_stop for each (epoch, error); every result is a new trial."""
    return [scheduler.should_stop({'x': i}, epoch, error)
            for i, (epoch, error) in enumerate(results)]


def _check_promotion_rule_stopping(Scheduler):
    make = lambda eta=2, r_min=1, r_max=4: Scheduler(
        CountingSearcher(), eta, r_min, r_max)
    yield _case('suggest: a new configuration with max_epochs = r_max',
                {'x': 0, 'max_epochs': 4}, lambda: make().suggest(),
                'take a configuration from the searcher and add max_epochs')
    order = [0.30, 0.20, 0.25, 0.10]
    yield _case('eta=2, errors 0.30, 0.20, 0.25, 0.10 at rung 1',
                [True, False, True, False],
                lambda: _decisions(make(), [(1, e) for e in order]),
                'continue if and only if the new error ranks among the best '
                'floor(n/eta) of the n errors at the rung, itself included; '
                'the first one ranks 1st of 1, and floor(1/2) = 0')
    yield _case('eta=2, errors 0.10, 0.25, 0.20, 0.30 at rung 1',
                [True, True, True, True],
                lambda: _decisions(make(), [(1, e) for e in order[::-1]]),
                'in this order no result ranks high enough: 0.25 is 2nd of '
                '2, 0.20 2nd of 3 (floor(3/2) = 1), 0.30 4th of 4')
    yield _case('eta=2, a tie: 0.20 after 0.20 at rung 1',
                [True, True],
                lambda: _decisions(make(), [(1, 0.2), (1, 0.2)]),
                'a tie goes to the earlier result, so the new one ranks 2nd')
    yield _case('eta=3, errors 0.4, 0.3, 0.2, 0.1, 0.5, 0.05 at rung 1',
                [True, True, False, False, True, False],
                lambda: _decisions(make(eta=3, r_max=9), [
                    (1, e) for e in (0.4, 0.3, 0.2, 0.1, 0.5, 0.05)]),
                'floor(n/3) is 0 for n < 3, 1 for n = 3..5, 2 for n = 6')
    yield _case('no decisions between rungs or at r_max (rungs 1, 2)',
                [False, False],
                lambda: _decisions(make(), [(3, 0.9), (4, 0.9)]),
                'decide only at d2l.rung_levels(r_min, r_max, eta)[:-1]')
    yield _case('every rung keeps its own results',
                [True, False, True],
                lambda: _decisions(make(), [(1, 0.5), (1, 0.1), (2, 0.01)]),
                'keep one list of errors per rung level')
    nan = float('nan')
    yield _case('a NaN is stopped and not recorded',
                [True, True, False],
                lambda: _decisions(make(), [(1, 0.3), (1, nan), (1, 0.2)]),
                'd2l.is_failure(error): stop, and do not append it; every '
                'comparison with NaN is False')

    def forwarded():
        scheduler = make()
        scheduler.update({'x': 0, 'max_epochs': 4}, 0.25)
        return scheduler.searcher.updates
    yield _case('update passes the result to the searcher',
                [({'x': 0, 'max_epochs': 4}, 0.25)], forwarded,
                'call self.searcher.update(config, error, info)')


# Asynchronous Hyperband with promotion (asha-scratch, exercise 6)

def _new_trials(scheduler, n):
    """The first rungs of the first n suggestions, which must all be new
    configurations: nothing has reported yet."""
    return [scheduler.suggest()['max_epochs'] for _ in range(n)]


def _check_async_hyperband(Scheduler):
    make = lambda seed=0: Scheduler(CountingSearcher(), 3, 1, 9, seed=seed)
    weights = {1: math.exp(3), 3: math.exp(2), 9: math.exp(1)}
    total = sum(weights.values())
    expected = {r: round(w / total, 3) for r, w in weights.items()}

    def shares():
        rungs = _new_trials(make(seed=1), 3000)
        return {r: round(rungs.count(r) / len(rungs), 3) for r in weights}
    yield _case('eta=3, r_min=1, r_max=9: share of new trials per first rung',
                expected, shares,
                'bracket s starts at r_min*eta**s and has K_s rung levels; '
                'draw it with probability proportional to exp(K_s)',
                same=lambda e, a: all(abs(a[r] - e[r]) < 0.03 for r in e))

    def first_rung_configs(scheduler, rung, errors):
        """Report `errors` for the first new trials that start at `rung`."""
        configs = [c for c in (scheduler.suggest() for _ in range(60))
                   if c['max_epochs'] == rung][:len(errors)]
        for config, error in zip(configs, errors):
            scheduler.update(config, error)
        return configs

    def promoted(rung, errors, next_rung):
        scheduler = make()
        configs = first_rung_configs(scheduler, rung, errors)
        best = configs[min(range(len(errors)), key=lambda i: errors[i])]
        return scheduler.suggest() == {'x': best['x'], 'max_epochs': next_rung}
    yield _case('results 0.3, 0.1, 0.2 at rung 1: the trial with 0.1 is '
                'promoted to rung 3 next', True,
                lambda: promoted(1, (0.3, 0.1, 0.2), 3),
                'before drawing a bracket, ask every bracket for a '
                'promotion (PromotionASHAScheduler.promotable)')
    yield _case('results 0.2, 0.3, 0.1 of trials that started at rung 3: '
                'the trial with 0.1 goes to rung 9 next', True,
                lambda: promoted(3, (0.2, 0.3, 0.1), 9),
                'update must hand each result to the bracket that started '
                'the configuration; remember the bracket per configuration')

    def mixed_rungs():
        scheduler = make()
        configs = first_rung_configs(scheduler, 1, (0.3, 0.1, 0.2))
        promotion = scheduler.suggest()  # to rung 3, in the first bracket
        scheduler.update(promotion, 0.5)
        others = first_rung_configs(scheduler, 3, (0.2, 0.3))
        return scheduler.suggest()['x'] in {
            c['x'] for c in configs + others}
    yield _case('a promoted trial reports 0.5 at rung 3, two trials that '
                'started at rung 3 report 0.2 and 0.3: nothing is promoted',
                False, mixed_rungs,
                'each bracket has rungs of its own; the result of a '
                'promoted trial goes back to the bracket that promoted it')

    def promoted_twice():
        scheduler = make()
        configs = first_rung_configs(scheduler, 1, (0.3, 0.1, 0.2))
        xs = {config['x'] for config in configs}
        later = [scheduler.suggest() for _ in range(20)]
        return sum(c['x'] in xs for c in later)
    yield _case('of 20 suggestions after three results at rung 1 (eta=3), '
                'one promotes one of them', 1, promoted_twice,
                "let the promoting bracket mark the entry: take that "
                "bracket's suggest()")

    def promoted_after_nan():
        scheduler = make()
        configs = first_rung_configs(scheduler, 1, (float('nan'), 0.3, 0.2))
        return scheduler.suggest()['x'] in {c['x'] for c in configs}
    yield _case('results NaN, 0.3, 0.2 at rung 1: nothing is promoted yet',
                False, promoted_after_nan,
                'a failure is not recorded at the rung, so two results '
                'remain and floor(2/3) = 0; pass results on unchanged')

    def simulated():
        curves = hpo.load_learning_curves('mlp_learning_curves.csv')
        scheduler = Scheduler(hpo.TableSearcher(curves, seed=0), 3, 1, 27,
                              seed=0)
        trace = hpo.Simulator(curves, n_workers=4, max_time=300).run(
            scheduler)
        return trace.n_trials > 0 and bool(trace.best_errors)
    yield _case('runs in d2l.Simulator on the MLP table (4 workers)', True,
                simulated, 'suggest returns a dict with max_epochs; update '
                'takes (config, error, info=None)')


CHECKS = {
    ('hyperopt-intro', 3): (_check_choice, 'Choice'),
    ('hyperopt-api', 1): (_check_grid_searcher, 'GridSearcher'),
    ('asha-scratch', 2): (_check_promotion_rule_stopping,
                          'a stopping scheduler with the promotion rule'),
    ('asha-scratch', 6): (_check_async_hyperband,
                          'asynchronous Hyperband with promotion'),
}


def exercise_cases(section, number, candidate):
    """The cases of the check of exercise `number` of `section`, run on
    `candidate` (a class or function the student wrote)."""
    if (section, number) not in CHECKS:
        known = ', '.join(f'({s!r}, {n})' for s, n in CHECKS)
        raise ValueError(f'no check for exercise {number} of {section!r}; '
                         f'the exercises with a check are: {known}')
    check, _ = CHECKS[section, number]
    return list(check(candidate))


def check_exercise(section, number, candidate, verbose=True):
    """Check the reader's solution of an exercise on small cases: print one
    line per case and return True if all of them pass."""
    cases = exercise_cases(section, number, candidate)
    if verbose:
        _, what = CHECKS[section, number]
        print(f'Exercise {number} of {section} ({what}):')
        for case in cases:
            print(f"  {'pass' if case.passed else 'FAIL'}  {case.name}")
            if not case.passed:
                print(f'        expected: {case.expected!r}\n'
                      f'        actual:   {case.actual!r}\n'
                      f'        hint:     {case.hint}')
        passed = sum(case.passed for case in cases)
        print(f'{passed} of {len(cases)} cases pass')
    return all(case.passed for case in cases)
