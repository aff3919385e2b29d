"""Framework-free hyperparameter optimization: the hardware profile,
configuration spaces, searchers, schedulers, the tuner and the rung
bookkeeping of successive halving.

The part above the generated-code header is written by hand; the part below
it is generated from the chapter's ``#@tab all`` / ``#@save`` cells by
``make lib``.
"""
import collections
import dataclasses
import math
import os
import random
import sys
import time

import numpy as np

from d2l.base import *  # noqa: F401,F403  (plotting and HyperParameters)

d2l = sys.modules[__name__]

PROFILE_VARIABLE = 'D2L_HPO_PROFILE'


@dataclasses.dataclass(frozen=True)
class HardwareProfile:
    """The experiment sizes that the chapter uses on one kind of hardware."""
    name: str                  # 'gpu' or 'cpu'
    model: str                 # name of the network class in the library
    resize: tuple              # image size fed to the network, or None
    n_workers: int             # parallel trials in Syne Tune experiments
    max_epochs: int            # r_max: epochs of a fully trained trial
    max_wallclock_time: float  # seconds of one Syne Tune experiment
    num_trials: int            # trials of the sequential from-scratch loops
    threads_per_trial: int     # CPU threads each training process may use
    num_train: int             # training images used (None: all of them)
    num_val: int               # validation images used (None: all of them)


PROFILES = {
    # The draft's settings: AlexNet on 224x224 Fashion-MNIST, for a GPU.
    'gpu': HardwareProfile(name='gpu', model='AlexNet', resize=(224, 224),
                           n_workers=4, max_epochs=16,
                           max_wallclock_time=600, num_trials=20,
                           threads_per_trial=4, num_train=None, num_val=None),
    # LeNet on 28x28 images keeps every notebook within a few minutes on
    # two CPU cores; so does a fixed subset of 4,000 training and 1,000
    # validation images when the full Fashion-MNIST is there (the size of
    # the offline fallback, on which the recorded learning curves were made).
    'cpu': HardwareProfile(name='cpu', model='LeNet', resize=None,
                           n_workers=2, max_epochs=8,
                           max_wallclock_time=45, num_trials=8,
                           threads_per_trial=1, num_train=4000, num_val=1000),
}


def choose_profile(num_gpus):
    """Return the hardware profile: the one named by the environment
    variable ``D2L_HPO_PROFILE`` ('cpu' or 'gpu'), else 'gpu' when a GPU is
    present and 'cpu' otherwise."""
    name = os.environ.get(PROFILE_VARIABLE, '').strip().lower()
    if not name:
        name = 'gpu' if num_gpus > 0 else 'cpu'
    if name not in PROFILES:
        raise ValueError(
            f'{PROFILE_VARIABLE}={name!r} is not a known hardware profile; '
            f'use one of {sorted(PROFILES)}')
    return PROFILES[name]


#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

class Domain(d2l.HyperParameters):
    """Base class of the value ranges that make up a configuration space.

    Defined in :numref:`sec_what_is_hpo`"""
    def sample(self, rng):
        """Draw one value, using the random.Random instance rng."""
        raise NotImplementedError

    def __repr__(self):
        return f'{type(self).__name__}({self.lower}, {self.upper})'

def check_domain_bounds(name, lower, upper):
    """Raise ValueError unless lower < upper are real numbers.

    Defined in :numref:`sec_what_is_hpo`"""
    for bound in (lower, upper):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise ValueError(f'{name}: bounds must be numbers, got '
                             f'lower={lower!r}, upper={upper!r}')
    if not lower < upper:  # also catches NaN
        raise ValueError(f'{name}: need lower < upper, got '
                         f'lower={lower!r}, upper={upper!r}')

class Uniform(Domain):
    """Real numbers drawn uniformly from [lower, upper].

    Defined in :numref:`sec_what_is_hpo`"""
    def __init__(self, lower, upper):
        check_domain_bounds('Uniform', lower, upper)
        self.save_hyperparameters()

    def sample(self, rng):
        return rng.uniform(self.lower, self.upper)

class LogUniform(Domain):
    """Positive reals whose logarithm is uniform on [log lower, log upper].

    Defined in :numref:`sec_what_is_hpo`"""
    def __init__(self, lower, upper):
        check_domain_bounds('LogUniform', lower, upper)
        if lower <= 0:
            raise ValueError('LogUniform: need lower > 0 (the logarithm of '
                             f'the bounds is taken), got lower={lower!r}')
        self.save_hyperparameters()

    def sample(self, rng):
        value = math.exp(rng.uniform(math.log(self.lower),
                                     math.log(self.upper)))
        return min(max(value, self.lower), self.upper)

class RandInt(Domain):
    """Integers drawn uniformly from lower, lower + 1, ..., upper.

    Defined in :numref:`sec_what_is_hpo`"""
    def __init__(self, lower, upper):
        for bound in (lower, upper):
            if isinstance(bound, bool) or not isinstance(
                    bound, (int, np.integer)):
                raise ValueError('RandInt: bounds must be integers, got '
                                 f'lower={lower!r}, upper={upper!r}')
        lower, upper = int(lower), int(upper)
        check_domain_bounds('RandInt', lower, upper)
        self.save_hyperparameters()

    def sample(self, rng):
        return rng.randint(self.lower, self.upper)

class HPOSearcher(d2l.HyperParameters):
    """Base class of searchers, which propose configurations to evaluate.

    Defined in :numref:`sec_api_hpo`"""
    def sample_configuration(self):
        """Return a new configuration: a dict from names to values."""
        raise NotImplementedError

    def update(self, config, error, additional_info=None):
        """Take note of the validation error of an evaluated configuration."""
        pass

class RandomSearcher(HPOSearcher):
    """Samples configurations independently, initial_config first.

    Defined in :numref:`sec_api_hpo`"""
    def __init__(self, config_space, initial_config=None, seed=0):
        self.save_hyperparameters()
        unknown = set(initial_config or {}) - set(config_space)
        if unknown:
            raise ValueError('initial_config has names that are not in the '
                             f'configuration space: {sorted(unknown)}')
        self.rng = random.Random(seed)
        self.initial_pending = initial_config is not None

    def sample_configuration(self):
        fixed = self.initial_config if self.initial_pending else {}
        self.initial_pending = False
        config = {}
        for name, domain in self.config_space.items():
            if name in fixed:
                config[name] = fixed[name]
            elif isinstance(domain, d2l.Domain):
                config[name] = domain.sample(self.rng)
            else:  # a constant
                config[name] = domain
        return config

class HPOScheduler(d2l.HyperParameters):
    """Base class of schedulers: what to evaluate next, and how long.

    Defined in :numref:`sec_api_hpo`"""
    def suggest(self):
        """Return the next configuration to evaluate (a dict, possibly
        with the resource 'max_epochs'), or None if there is nothing to
        start before more results come in."""
        raise NotImplementedError

    def update(self, config, error, info=None):
        """Receive the validation error of a configuration from suggest."""
        raise NotImplementedError

class BasicScheduler(HPOScheduler):
    """Evaluates every configuration of the searcher as it is.

    Defined in :numref:`sec_api_hpo`"""
    def __init__(self, searcher):
        self.save_hyperparameters()

    def suggest(self):
        return dict(self.searcher.sample_configuration())

    def update(self, config, error, info=None):
        self.searcher.update(config, error, additional_info=info)

class HPOTuner(d2l.HyperParameters):
    """Evaluates the scheduler's suggestions one by one; keeps records.

    Defined in :numref:`sec_api_hpo`"""
    def __init__(self, scheduler, objective):
        self.save_hyperparameters()
        self.incumbent = None            # best configuration so far
        self.incumbent_error = math.inf  # and its validation error
        self.incumbent_trajectory = []   # incumbent_error after each trial
        self.cumulative_runtime = []     # seconds from the start, per trial
        self.records = []                # config, error, runtime per trial

    def run(self, number_of_trials, verbose=True):
        """Evaluate number_of_trials configurations, one after another.
    
        Defined in :numref:`sec_api_hpo`"""
        for _ in range(number_of_trials):
            start = time.perf_counter()
            config = self.scheduler.suggest()
            if config is None:
                raise RuntimeError(
                    'the scheduler suggested nothing, but HPOTuner runs one '
                    'trial at a time and no result is pending')
            error = float(self.objective(**config))
            self.scheduler.update(config, error)
            self.bookkeeping(config, error, time.perf_counter() - start)
            if verbose:
                values = ', '.join(
                    f'{name}={value:.4g}' if isinstance(value, float)
                    else f'{name}={value}' for name, value in config.items())
                print(f'trial {len(self.records) - 1}: {values} -> error '
                      f'{error:.3f} ({self.records[-1]["runtime"]:.1f} s), '
                      f'best so far {self.incumbent_error:.3f}')

    def bookkeeping(self, config, error, runtime):
        """Record a finished trial and update the incumbent.
    
        Defined in :numref:`sec_api_hpo`"""
        self.records.append({'config': dict(config), 'error': error,
                             'runtime': runtime})
        if error < self.incumbent_error:
            self.incumbent, self.incumbent_error = dict(config), error
        self.incumbent_trajectory.append(self.incumbent_error)
        elapsed = self.cumulative_runtime[-1] if self.cumulative_runtime else 0
        self.cumulative_runtime.append(elapsed + runtime)

    def plot_anytime(self, axes=None, show_trials=True):
        """Plot the best validation error so far against wall-clock seconds.
    
        Defined in :numref:`sec_api_hpo`"""
        if axes is None:
            d2l.set_figsize()
            axes = d2l.plt.gca()
        axes.step(self.cumulative_runtime, self.incumbent_trajectory,
                  where='post', color='black', label='best so far')
        if show_trials:
            axes.plot(self.cumulative_runtime,
                      [record['error'] for record in self.records], 'o',
                      label='trial')
        d2l.set_axes(axes, 'wall-clock time (seconds)', 'validation error',
                     None, None, 'linear', 'linear', None)
        axes.legend()
        return axes

def rung_levels(r_min, r_max, eta):
    """r_min * eta**k for k < K, then r_max (K as in the text).

    Defined in :numref:`sec_mf_hpo`"""
    levels, r = [], r_min
    while r * eta <= r_max:
        levels.append(r)
        r *= eta
    return levels + [r_max]

class SuccessiveHalvingScheduler(d2l.HPOScheduler):
    """Synchronous successive halving, one round after another.

    Defined in :numref:`sec_mf_hpo`"""
    def __init__(self, searcher, eta, r_min, r_max, prefact=1):
        self.save_hyperparameters()
        if int(eta) != eta or eta < 2:
            raise ValueError(f'eta must be an integer >= 2, got {eta}')
        if not 1 <= r_min <= r_max:
            raise ValueError('need 1 <= r_min <= r_max, got '
                             f'r_min={r_min}, r_max={r_max}')
        self.rung_levels = rung_levels(r_min, r_max, eta)
        self.K = len(self.rung_levels) - 1
        # Number of trials per rung: prefact * eta**(K - k) at rung k
        self.num_trials = [prefact * eta ** (self.K - k)
                           for k in range(self.K + 1)]
        self.rounds_completed = 0
        self.start_round()

    def start_round(self):
        """Defined in :numref:`sec_mf_hpo`"""
        self.rung = 0
        self.queue = []       # configurations promoted to this rung, best first
        self.handed_out = []  # configurations suggested at this rung
        self.results = []     # (error, position in handed_out, configuration)

    def suggest(self):
        """Defined in :numref:`sec_mf_hpo`"""
        if len(self.handed_out) == self.num_trials[self.rung]:
            return None  # wait until all results of this rung are in
        if self.rung == 0:
            config = dict(self.searcher.sample_configuration())
        else:
            config = dict(self.queue.pop(0))
        config['max_epochs'] = self.rung_levels[self.rung]
        self.handed_out.append(config)
        return config

    def update(self, config, error, info=None):
        """Defined in :numref:`sec_mf_hpo`"""
        self.searcher.update(config, error, additional_info=info)
        reported = {position for _, position, _ in self.results}
        position = next(i for i, c in enumerate(self.handed_out)
                        if c == config and i not in reported)
        self.results.append((error, position, config))
        if len(self.results) < self.num_trials[self.rung]:
            return
        if self.rung == self.K:  # the top rung is complete: a new round starts
            self.rounds_completed += 1
            self.start_round()
            return
        ranked = sorted(self.results, key=lambda result: result[:2])
        num_promoted = self.num_trials[self.rung + 1]
        self.queue = [promoted for _, _, promoted in ranked[:num_promoted]]
        self.rung += 1
        self.handed_out, self.results = [], []

class HyperbandScheduler(d2l.HPOScheduler):
    """Synchronous Hyperband: brackets of successive halving in turn.

    Defined in :numref:`sec_mf_hpo`"""
    def __init__(self, searcher, eta, r_min, r_max):
        self.save_hyperparameters()
        rung_levels = SuccessiveHalvingScheduler(
            searcher, eta, r_min, r_max).rung_levels
        K = len(rung_levels) - 1
        self.brackets = []
        for b in range(K + 1):
            bracket = SuccessiveHalvingScheduler(
                searcher, eta, rung_levels[b], r_max)
            n = -(-(K + 1) * eta ** (K - b) // (K + 1 - b))  # rounded up
            bracket.num_trials = [n // eta ** i for i in range(K + 1 - b)]
            self.brackets.append(bracket)
        self.current = 0  # index of the bracket that is running

    def bracket_sizes(self):
        """[(number of trials, epochs) for each rung] for each bracket."""
        return [list(zip(bracket.num_trials, bracket.rung_levels))
                for bracket in self.brackets]

    def suggest(self):
        """Defined in :numref:`sec_mf_hpo`"""
        return self.brackets[self.current].suggest()
    

    def update(self, config, error, info=None):
        """Defined in :numref:`sec_mf_hpo`"""
        bracket = self.brackets[self.current]
        rounds_before = bracket.rounds_completed
        bracket.update(config, error, info)
        if bracket.rounds_completed > rounds_before:  # the bracket is done
            self.current = (self.current + 1) % len(self.brackets)

class LearningCurves:
    """Validation errors and epoch times recorded for configurations."""
    # errors[i, t]: validation error of configs[i] after epoch t + 1,
    # seconds[i, t]: how long that epoch took
    def __init__(self, configs, errors, seconds, dataset=''):
        """Defined in :numref:`sec_sh_async`"""
        self.configs = [dict(config) for config in configs]
        self.errors = np.asarray(errors, dtype=float)
        self.seconds = np.asarray(seconds, dtype=float)
        self.dataset = dataset
        self.max_epochs = self.errors.shape[1]
        self.rows = {self.key(config): i
                     for i, config in enumerate(self.configs)}

    @staticmethod
    def key(config):
        """The hyperparameters of `config`, without 'max_epochs'."""
        return tuple(sorted((name, value) for name, value in config.items()
                            if name != 'max_epochs'))

    def row(self, config):
        """The index of the configuration `config` in the table."""
        if self.key(config) not in self.rows:
            raise KeyError(f'{config} has no recorded learning curve')
        return self.rows[self.key(config)]

def load_learning_curves(name='lenet_learning_curves.csv'):
    """Read a table of learning curves from d2l/data (or from a path).

    Defined in :numref:`sec_sh_async`"""
    path = name if os.path.exists(name) else os.path.join(
        os.path.dirname(d2l.__file__), 'data', name)
    dataset, lines = '', []
    with open(path) as f:
        for line in f:
            if line.startswith('# dataset:'):
                dataset = line.split(':', 1)[1].strip()
            elif line.strip() and not line.startswith('#'):
                lines.append(line.strip().split(','))
    header, configs, errors, seconds = lines[0], {}, {}, {}
    names = [name for name in header if name not in (
        'config_id', 'epoch', 'validation_error', 'epoch_seconds')]
    for values in lines[1:]:
        row = dict(zip(header, values))
        i, epoch = int(row['config_id']), int(row['epoch'])
        configs[i] = {name: int(row[name]) if row[name].isdigit()
                      else float(row[name]) for name in names}
        errors.setdefault(i, {})[epoch] = float(row['validation_error'])
        seconds.setdefault(i, {})[epoch] = float(row['epoch_seconds'])
    ids = sorted(configs)
    epochs = sorted(errors[ids[0]])
    return LearningCurves([configs[i] for i in ids],
                          [[errors[i][t] for t in epochs] for i in ids],
                          [[seconds[i][t] for t in epochs] for i in ids],
                          dataset)

class TableSearcher(d2l.HPOSearcher):
    """Random search over the configurations of a `LearningCurves` table.

    Defined in :numref:`sec_sh_async`"""
    def __init__(self, curves, seed=0):
        self.save_hyperparameters()
        self.rng = random.Random(seed)
        self.order = []

    def sample_configuration(self):
        if not self.order:  # every row was used: a new random order
            self.order = list(range(len(self.curves.configs)))
            self.rng.shuffle(self.order)
        return dict(self.curves.configs[self.order.pop()])

class PromotionASHAScheduler(d2l.HPOScheduler):
    """Asynchronous successive halving, promotion type.

    Defined in :numref:`sec_sh_async`"""
    def __init__(self, searcher, eta, r_min, r_max):
        self.save_hyperparameters()
        self.rung_levels = d2l.rung_levels(r_min, r_max, eta)
        # Rung level -> results recorded there, in order of arrival
        self.rungs = {r: [] for r in self.rung_levels}

    def promotable(self):
        """(entry, next rung level) of a configuration to promote, or None.
    
        Defined in :numref:`sec_sh_async`"""
        for r, r_next in reversed(list(zip(self.rung_levels[:-1],
                                           self.rung_levels[1:]))):
            entries = self.rungs[r]
            top = sorted(entries, key=lambda entry: entry['error'])
            for entry in top[:int(len(entries) / self.eta)]:
                if not entry['promoted']:
                    return entry, r_next
        return None

    def suggest(self):
        """Defined in :numref:`sec_sh_async`"""
        found = self.promotable()
        if found is None:  # nothing to promote: start a new configuration
            config = self.searcher.sample_configuration()
            return dict(config, max_epochs=self.rung_levels[0])
        entry, r_next = found
        entry['promoted'] = True
        return dict(entry['config'], max_epochs=r_next)
    

    def update(self, config, error, info=None):
        """Defined in :numref:`sec_sh_async`"""
        hyperparameters = {name: value for name, value in config.items()
                           if name != 'max_epochs'}
        self.rungs[config['max_epochs']].append(
            {'config': hyperparameters, 'error': error, 'promoted': False})
        self.searcher.update(config, error, info)

class StoppingASHAScheduler(d2l.HPOScheduler):
    """Asynchronous successive halving, stopping type.

    Defined in :numref:`sec_sh_async`"""
    def __init__(self, searcher, eta, r_min, r_max):
        self.save_hyperparameters()
        # Decisions are made at the rung levels below r_max
        self.rung_levels = d2l.rung_levels(r_min, r_max, eta)[:-1]
        # Rung level -> errors recorded there
        self.rungs = {r: [] for r in self.rung_levels}

    def suggest(self):
        config = self.searcher.sample_configuration()
        return dict(config, max_epochs=self.r_max)

    def should_stop(self, config, epoch, error):
        """Called after every epoch: True if the trial should stop."""
        if epoch not in self.rungs:
            return False
        recorded = self.rungs[epoch]
        rank = 1 + sum(other <= error for other in recorded)
        recorded.append(error)
        return rank > len(recorded) / self.eta

    def update(self, config, error, info=None):
        self.searcher.update(config, error, info)

class SimulationTrace:
    """The outcome of a simulated experiment."""
    def __init__(self, n_workers, max_time):
        """Defined in :numref:`sec_sh_async`"""
        self.n_workers, self.max_time = n_workers, max_time
        self.times, self.best_errors = [], []  # whenever the best improved
        self.busy = [0.0] * n_workers  # seconds each worker spent training
        self.n_jobs = self.n_trials = 0

    def record(self, time, error):
        if not self.best_errors or error < self.best_errors[-1]:
            self.times.append(time)
            self.best_errors.append(error)

    def best_error_at(self, times):
        """Best error found up to each of `times` (NaN before any)."""
        idx = np.searchsorted(self.times, times, side='right') - 1
        best = np.array(self.best_errors + [np.nan])
        return np.where(idx >= 0, best[idx], np.nan)

    def time_to_reach(self, target):
        """Simulated time when the best error first got <= `target`."""
        for time, error in zip(self.times, self.best_errors):
            if error <= target:
                return time
        return math.inf

    @property
    def utilization(self):
        """Fraction of the workers' time that went into training."""
        return sum(self.busy) / (self.n_workers * self.max_time)

class Simulator(d2l.HyperParameters):
    """Simulated workers that replay recorded learning curves.

    Defined in :numref:`sec_sh_async`"""
    def __init__(self, curves, n_workers, max_time):
        self.save_hyperparameters()

    def run(self, scheduler):
        self.scheduler, self.time = scheduler, 0.0
        self.jobs = [None] * self.n_workers  # None: the worker is idle
        self.checkpoints = {}  # row of the table -> epochs trained
        self.trace = SimulationTrace(self.n_workers, self.max_time)
        self.assign_jobs()
        while any(job is not None for job in self.jobs):
            worker = min((w for w, job in enumerate(self.jobs) if job),
                         key=lambda w: self.jobs[w]['end'])
            if self.jobs[worker]['end'] > self.max_time:
                break
            self.time = self.jobs[worker]['end']
            self.finish_epoch(worker)
            self.assign_jobs()
        for worker, job in enumerate(self.jobs):  # busy until the end
            if job is not None:
                self.trace.busy[worker] += self.max_time - job['start']
        return self.trace

    def assign_jobs(self):
        """Defined in :numref:`sec_sh_async`"""
        for worker, job in enumerate(self.jobs):
            if job is None:
                config = self.scheduler.suggest()
                if config is None:  # the scheduler waits for results
                    return
                self.start_job(worker, config)
    

    def start_job(self, worker, config):
        """Defined in :numref:`sec_sh_async`"""
        row = self.curves.row(config)
        max_epochs = config.get('max_epochs', self.curves.max_epochs)
        epoch = self.checkpoints.get(row, 0)
        if epoch >= max_epochs or hasattr(self.scheduler, 'should_stop'):
            epoch = 0  # train from scratch
        self.trace.n_jobs += 1
        self.trace.n_trials += epoch == 0
        self.jobs[worker] = {
            'config': config, 'row': row, 'epoch': epoch,
            'max_epochs': max_epochs, 'start': self.time,
            'end': self.time + self.curves.seconds[row, epoch]}

    def finish_epoch(self, worker):
        """Defined in :numref:`sec_sh_async`"""
        job = self.jobs[worker]
        row, epoch = job['row'], job['epoch'] + 1
        self.trace.busy[worker] += self.time - job['start']
        self.checkpoints[row] = epoch
        error = self.curves.errors[row, epoch - 1]
        every_epoch = hasattr(self.scheduler, 'should_stop')
        stop = every_epoch and self.scheduler.should_stop(
            job['config'], epoch, error)
        done = stop or epoch == job['max_epochs']
        if every_epoch or done:
            self.trace.record(self.time, error)
        if done:
            self.scheduler.update(job['config'], error)
            self.jobs[worker] = None
        else:
            job.update(epoch=epoch, start=self.time,
                       end=self.time + self.curves.seconds[row, epoch])

def ray_tune_report(epoch, error):
    """Pass a report(epoch, error) of hpo_objective on to Ray Tune.

    Defined in :numref:`sec_ray_tune`"""
    from ray import tune  # imported here: the library does not need Ray
    tune.report({'epoch': epoch, 'validation_error': error})
