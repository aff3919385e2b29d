"""The self-checks of the exercises (d2l/exercises.py).

The reference solutions of the instructors' book pass every check, and
deliberately wrong variants fail the case that should catch them. The
chapter points the student at every check, with the right number.
"""
import itertools
import math
import os
import random
import re
import sys

import numpy as np
import pytest

from d2l import torch as d2l
from d2l.exercises import CHECKS, exercise_cases

from chapter import CHAPTER, ROOT

SOLUTIONS = os.path.join(ROOT, 'solutions', 'chapter_hyperparameter_optimization')
REFERENCES = {('hyperopt-intro', 3): 'Choice',
              ('hyperopt-api', 1): 'GridSearcher',
              ('asha-scratch', 2): 'PromotionRuleStoppingScheduler',
              ('asha-scratch', 6): 'AsyncHyperbandScheduler'}


def reference(section, number):
    """The class that the solutions book defines for the exercise."""
    sys.path.insert(0, SOLUTIONS)
    try:
        import chapter_code
    finally:
        sys.path.remove(SOLUTIONS)
    namespace = {'d2l': d2l, 'math': math, 'random': random, 'np': np,
                 'itertools': itertools}
    name = REFERENCES[section, number]
    chapter_code.define(section, name, namespace=namespace, folder=SOLUTIONS)
    return namespace[name]


def failed(section, number, candidate):
    return {case.name for case in exercise_cases(section, number, candidate)
            if not case.passed}


def test_every_check_has_a_reference_solution():
    assert set(REFERENCES) == set(CHECKS)


@pytest.mark.parametrize('section, number', sorted(CHECKS))
def test_reference_solution_passes(section, number, capsys):
    assert d2l.check_exercise(section, number, reference(section, number))
    out = capsys.readouterr().out
    assert 'FAIL' not in out and 'cases pass' in out


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="no check for exercise 9 of 'sh-async'"):
        d2l.check_exercise('sh-async', 9, object)


def test_failing_case_prints_expected_actual_and_hint(capsys):
    class NoCheck(reference('hyperopt-intro', 3)):
        def __init__(self, values):
            self.values = list(values)
    assert not d2l.check_exercise('hyperopt-intro', 3, NoCheck)
    out = capsys.readouterr().out
    assert re.search(r"FAIL  Choice\(\[\]\) raises ValueError\n +expected: "
                     r"'ValueError'\n +actual: +'no exception'\n +hint: ", out)


def test_an_exception_in_the_students_code_is_a_failed_case():
    class Broken(d2l.HPOSearcher):
        def __init__(self, grid):
            raise RuntimeError('not written yet')
    cases = exercise_cases('hyperopt-api', 1, Broken)
    assert cases and not any(case.passed for case in cases)
    assert cases[0].actual == 'RuntimeError: not written yet'


# Wrong variants of Choice

def test_choice_variants_fail_their_case():
    Choice = reference('hyperopt-intro', 3)

    class GlobalRandom(Choice):
        def sample(self, rng):
            return random.choice(self.values)

    class NeverLast(Choice):
        def sample(self, rng):
            return rng.choice(self.values[:-1] or self.values)

    class NotADomain:
        def __init__(self, values):
            if not values:
                raise ValueError('empty')
            self.values = list(values)

        def sample(self, rng):
            return rng.choice(self.values)

    assert failed('hyperopt-intro', 3, GlobalRandom) == {
        'the same seed gives the same samples'}
    assert failed('hyperopt-intro', 3, NeverLast) == {
        '3,000 samples: every value about 1/3 of the time'}
    assert failed('hyperopt-intro', 3, NotADomain) == {
        'RandomSearcher samples it'}


# Wrong variants of GridSearcher

def test_grid_searcher_variants_fail_their_case():
    class WithReplacement(d2l.HPOSearcher):
        def __init__(self, grid):
            self.grid, self.rng = grid, random.Random(0)

        def sample_configuration(self):
            return {name: self.rng.choice(values)
                    for name, values in self.grid.items()}

    class DropsLastValue(d2l.HPOSearcher):
        def __init__(self, grid):
            self.configs = itertools.cycle(
                dict(zip(grid, values)) for values in
                itertools.product(*(v[:-1] for v in grid.values())))

        def sample_configuration(self):
            return next(self.configs)

    class Tuples(d2l.HPOSearcher):
        def __init__(self, grid):
            self.configs = itertools.product(*grid.values())

        def sample_configuration(self):
            return next(self.configs)

    assert 'six calls give the 3 x 2 configurations of the grid' in failed(
        'hyperopt-api', 1, WithReplacement)
    assert 'six calls give the 3 x 2 configurations of the grid' in failed(
        'hyperopt-api', 1, DropsLastValue)
    assert 'the first configuration' in failed('hyperopt-api', 1, Tuples)


# Wrong variants of the stopping scheduler with the promotion rule

class RankRule(d2l.StoppingASHAScheduler):
    """Continue if the rank is within a quota; the flags make it wrong."""
    later_wins_ties = rounds_up = at_r_max = records_failures = False

    def __init__(self, searcher, eta, r_min, r_max):
        super().__init__(searcher, eta, r_min, r_max)
        if self.at_r_max:
            self.rungs[r_max] = []

    def should_stop(self, config, epoch, error):
        if epoch not in self.rungs:
            return False
        if d2l.is_failure(error) and not self.records_failures:
            return True
        earlier = list(self.rungs[epoch])
        self.rungs[epoch].append(error)
        ahead = sum(e < error if self.later_wins_ties else e <= error
                    for e in earlier)
        n = len(earlier) + 1
        quota = math.ceil(n / self.eta) if self.rounds_up else n // self.eta
        return ahead + 1 > quota


def variant(**flags):
    return type('Variant', (RankRule,), flags)


def test_rank_rule_as_written_here_passes():
    assert failed('asha-scratch', 2, RankRule) == set()


@pytest.mark.parametrize('flag, case', [
    ('later_wins_ties', 'eta=2, a tie: 0.20 after 0.20 at rung 1'),
    ('rounds_up', 'eta=2, errors 0.30, 0.20, 0.25, 0.10 at rung 1'),
    ('at_r_max', 'no decisions between rungs or at r_max (rungs 1, 2)'),
    ('records_failures', 'a NaN is stopped and not recorded'),
])
def test_promotion_rule_variants_fail_their_case(flag, case):
    assert case in failed('asha-scratch', 2, variant(**{flag: True}))


def test_stopping_asha_itself_fails_the_promotion_rule():
    """Syne Tune's rule lets the first trial at a rung continue."""
    assert 'eta=2, errors 0.30, 0.20, 0.25, 0.10 at rung 1' in failed(
        'asha-scratch', 2, d2l.StoppingASHAScheduler)


# Wrong variants of asynchronous Hyperband

class Brackets(d2l.HPOScheduler):
    """Promotion-type brackets; the flags make it wrong."""
    uniform = no_promotion = first_bracket_gets_results = False

    def __init__(self, searcher, eta, r_min, r_max, seed=0):
        levels = d2l.rung_levels(r_min, r_max, eta)
        self.brackets = [d2l.PromotionASHAScheduler(searcher, eta, r, r_max)
                         for r in levels]
        self.searcher, self.rng, self.owner = searcher, random.Random(seed), {}

    def suggest(self):
        ready = [b for b in self.brackets if b.promotable() is not None]
        if ready and not self.no_promotion:
            bracket = ready[0]
        else:
            weights = [1 if self.uniform else math.exp(len(b.rung_levels))
                       for b in self.brackets]
            bracket = self.rng.choices(self.brackets, weights)[0]
            if self.no_promotion:
                config = self.searcher.sample_configuration()
                config = dict(config, max_epochs=bracket.rung_levels[0])
                self.owner[d2l.LearningCurves.key(config)] = bracket
                return config
        config = bracket.suggest()
        self.owner[d2l.LearningCurves.key(config)] = bracket
        return config

    def update(self, config, error, info=None):
        bracket = (self.brackets[0] if self.first_bracket_gets_results
                   else self.owner[d2l.LearningCurves.key(config)])
        bracket.update(config, error, info)


def test_brackets_as_written_here_pass():
    assert failed('asha-scratch', 6, Brackets) == set()


@pytest.mark.parametrize('flag, case', [
    ('uniform', 'eta=3, r_min=1, r_max=9: share of new trials per first '
                'rung'),
    ('no_promotion', 'results 0.3, 0.1, 0.2 at rung 1: the trial with 0.1 '
                     'is promoted to rung 3 next'),
    ('first_bracket_gets_results', 'a promoted trial reports 0.5 at rung 3, '
     'two trials that started at rung 3 report 0.2 and 0.3: nothing is '
     'promoted'),
])
def test_async_hyperband_variants_fail_their_case(flag, case):
    Variant = type('Variant', (Brackets,), {flag: True})
    assert case in failed('asha-scratch', 6, Variant)


# The chapter points at every check

def exercises(section):
    """The items of the section's exercise list."""
    with open(os.path.join(CHAPTER, f'{section}.md')) as f:
        text = f.read().split('## Exercises', 1)[1]
    return re.split(r'^\d+\. ', text, flags=re.M)[1:]


@pytest.mark.parametrize('section, number', sorted(CHECKS))
def test_chapter_names_the_check_in_the_right_exercise(section, number):
    items = exercises(section)
    call = f"d2l.check_exercise('{section}', {number}, "
    assert call in items[number - 1]
    assert all(call not in item for i, item in enumerate(items, 1)
               if i != number)
