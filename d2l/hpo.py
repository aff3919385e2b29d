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

def is_failure(error):
    """True if `error` marks a failed trial: NaN or +-inf (training diverged
    or the evaluation crashed). Schedulers rank it below every finite error.

    Defined in :numref:`sec_api_hpo`"""
    return not math.isfinite(error)

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
        self.records = []                # config, error, status... per trial

    def evaluate(self, config):
        """Return (error, None), or (NaN, 'Type: message') if the objective
        raised an exception.

        Defined in :numref:`sec_api_hpo`"""
        try:
            return float(self.objective(**config)), None
        except Exception as exception:  # KeyboardInterrupt is no Exception
            return math.nan, f'{type(exception).__name__}: {exception}'
    

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
            error, exception = self.evaluate(config)
            info = None if exception is None else {'exception': exception}
            self.scheduler.update(config, error, info=info)
            self.bookkeeping(config, error, time.perf_counter() - start,
                             exception)
            if verbose:
                self.print_trial()

    def print_trial(self):
        """Print one line about the last trial of the records.
    
        Defined in :numref:`sec_api_hpo`"""
        record = self.records[-1]
        values = ', '.join(
            f'{name}={value:.4g}' if isinstance(value, float)
            else f'{name}={value}' for name, value in record['config'].items())
        outcome = (f'failed with {record["exception"]}'
                   if record['status'] == 'failed'
                   else f'error {record["error"]:.3f}')
        print(f'trial {len(self.records) - 1}: {values} -> {outcome} '
              f'({record["runtime"]:.1f} s), best so far '
              f'{self.incumbent_error:.3f}')

    def bookkeeping(self, config, error, runtime, exception=None):
        """Record a finished trial and update the incumbent.
    
        Defined in :numref:`sec_api_hpo`"""
        record = {'config': dict(config), 'error': error, 'runtime': runtime,
                  'status': 'completed' if exception is None else 'failed'}
        if exception is not None:
            record['exception'] = exception
        self.records.append(record)
        if not d2l.is_failure(error) and error < self.incumbent_error:
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

TrialSpan = collections.namedtuple(
    'TrialSpan', ['trial_id', 'launch', 'begin', 'report', 'end', 'worker'],
    defaults=[None])

def trial_timeline(results, launch_times, end_times, start_time):
    """A TrialSpan of each launched trial, in seconds since start_time.

    Defined in :numref:`sec_rs_async`"""
    # results: Syne Tune's results table; launch_times and end_times map
    # trial ids to time stamps. A moment that did not come is None.
    spans = []
    for trial_id, launch in sorted(launch_times.items()):
        reports = results[results.trial_id == trial_id]
        begin = report = end = None
        if len(reports):
            last = reports.loc[reports.st_worker_timestamp.idxmax()]
            report = float(last.st_worker_timestamp) - start_time
            begin = report - float(last.st_worker_time)
        if trial_id in end_times:
            end = end_times[trial_id] - start_time
        spans.append(TrialSpan(trial_id, launch - start_time, begin, report,
                               end))
    return spans

def read_trial_timeline(experiment):
    """trial_timeline of an experiment that load_experiment read.

    Defined in :numref:`sec_rs_async`"""
    launch_times, end_times = {}, {}
    for folder in experiment.path.iterdir():
        if folder.name.isdigit():
            trial_id = int(folder.name)
            launch_times[trial_id] = (folder / 'config.json').stat().st_mtime
            if (folder / 'end').exists():
                end_times[trial_id] = float((folder / 'end').read_text())
    return trial_timeline(experiment.results, launch_times, end_times,
                          experiment.metadata['st_tuner_start_timestamp'])

def assign_workers(spans, n_workers):
    """The spans with their workers, assigned in the order of launch.

    Defined in :numref:`sec_rs_async`"""
    # A trial goes to the worker that has been free the longest
    free_since = [0.0] * n_workers
    assigned = []
    for span in sorted(spans, key=lambda span: span.launch):
        worker = min(range(n_workers), key=lambda w: free_since[w])
        free_since[worker] = math.inf if span.end is None else span.end
        assigned.append(span._replace(worker=worker))
    return assigned

def worker_time_shares(spans, n_workers, deadline):
    """Seconds of worker time in each part of the trials' lives.

    Defined in :numref:`sec_rs_async`"""
    # The parts add up to n_workers * deadline
    reported = [s for s in spans if s.report is not None]
    shares = {
        'start-up': sum(s.begin - s.launch for s in reported),
        'data and training': sum(s.report - s.begin for s in reported),
        'after the report': sum(min(deadline, math.inf if s.end is None
                                    else s.end) - s.report for s in reported),
        'cut off at the deadline': sum(deadline - s.launch for s in spans
                                       if s.report is None)}
    shares['idle'] = n_workers * deadline - sum(shares.values())
    return shares

def sync_rounds_utilization(spans, n_workers):
    """Fraction of worker time in trials if they had run in rounds.

    Defined in :numref:`sec_rs_async`"""
    # Rounds of n_workers trials that reported, in the order of their ids,
    # each as long as its slowest trial (launch to report); None if there
    # is no complete round
    lengths = [s.report - s.launch for s in
               sorted(spans, key=lambda s: s.trial_id) if s.report is not None]
    lengths = lengths[:len(lengths) // n_workers * n_workers]
    if not lengths:
        return None
    rounds = [lengths[i:i + n_workers]
              for i in range(0, len(lengths), n_workers)]
    return sum(lengths) / sum(n_workers * max(r) for r in rounds)

def plot_worker_timeline(spans, n_workers, deadline):
    """One row per worker with the parts of each trial's life.

    Defined in :numref:`sec_rs_async`"""
    d2l.set_figsize((6, 0.8 + 0.45 * n_workers))
    ax = d2l.plt.gca()
    for s in spans:
        if s.report is None:  # still running at the deadline
            ax.barh(s.worker, deadline - s.launch, left=s.launch,
                    color='none', edgecolor='gray', hatch='//')
            continue
        end = deadline if s.end is None else min(s.end, deadline)
        ax.barh(s.worker, s.begin - s.launch, left=s.launch, color='C1',
                alpha=0.5)
        ax.barh(s.worker, s.report - s.begin, left=s.begin, color='C0')
        ax.barh(s.worker, end - s.report, left=s.report, color='C7',
                alpha=0.5)
        ax.text((s.begin + s.report) / 2, s.worker, str(s.trial_id),
                ha='center', va='center', color='white')
    ax.axvline(deadline, color='k', linestyle='--')
    ax.set_yticks(range(n_workers), [f'worker {w}' for w in range(n_workers)])
    ax.invert_yaxis()
    ax.set_xlim(0, deadline * 1.02)
    ax.set_xlabel('wall-clock time (seconds)')
    patch = d2l.matplotlib.patches.Patch
    ax.legend(handles=[
        patch(color='C1', alpha=0.5, label='start-up'),
        patch(color='C0', label='data and training'),
        patch(color='C7', alpha=0.5, label='after the report'),
        patch(facecolor='none', edgecolor='gray', hatch='//',
              label='cut off')],
        loc='upper center', bbox_to_anchor=(0.5, -0.45), ncol=4,
        frameon=False)

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
    

    def rung_size(self):
        """Number of evaluations at the current rung.
    
        Defined in :numref:`sec_mf_hpo`"""
        if self.rung == 0:
            return self.num_trials[0]
        return len(self.handed_out) + len(self.queue)  # all promoted ones

    def suggest(self):
        """Defined in :numref:`sec_mf_hpo`"""
        if len(self.handed_out) == self.rung_size():
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
        if len(self.results) < self.rung_size():
            return
        if self.rung < self.K:  # failures are neither ranked nor promoted
            ranked = sorted((result for result in self.results
                             if not d2l.is_failure(result[0])),
                            key=lambda result: result[:2])
            num_promoted = self.num_trials[self.rung + 1]
            self.queue = [promoted for _, _, promoted in ranked[:num_promoted]]
        if self.rung == self.K or not self.queue:  # the round is over
            self.rounds_completed += 1
            self.start_round()
            return
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

def multi_fidelity_costs(eta=3, r_min=1, r_max=81, prefact=1):
    """Rungs of one round of SH and brackets of Hyperband, with epochs.

    Defined in :numref:`sec_mf_hpo`"""
    epochs = lambda sizes: sum(n * r for n, r in sizes)
    sh = SuccessiveHalvingScheduler(None, eta, r_min, r_max, prefact)
    rungs = list(zip(sh.num_trials, sh.rung_levels))
    brackets = HyperbandScheduler(None, eta, r_min, r_max).bracket_sizes()
    return {'rung_levels': sh.rung_levels, 'rungs': rungs,
            'sh_epochs': epochs(rungs), 'sh_full_epochs': rungs[0][0] * r_max,
            'brackets': brackets,
            'hyperband_epochs': [epochs(sizes) for sizes in brackets],
            'hyperband_full_epochs': sum(sizes[0][0]
                                         for sizes in brackets) * r_max}

def show_multi_fidelity_costs(eta=3, r_min=1, r_max=81, prefact=1):
    """Print and plot the rungs and epochs of `multi_fidelity_costs`.

    Defined in :numref:`sec_mf_hpo`"""
    costs = multi_fidelity_costs(eta, r_min, r_max, prefact)
    rounds = [('SH round', costs['rungs'])] + [
        (f'bracket {b}', sizes) for b, sizes in enumerate(costs['brackets'])]
    print(f'eta = {eta}, r_min = {r_min}, r_max = {r_max}, c = {prefact}')
    for name, sizes in rounds:  # trials x epochs at each rung
        print(f'{name:10s}  ' + ', '.join(f'{n} x {r}' for n, r in sizes)
              + f'  ({sum(n * r for n, r in sizes)} epochs)')
    for method, key in (('SH round', 'sh'), ('Hyperband', 'hyperband')):
        total = np.sum(costs[f'{key}_epochs'])
        full = costs[f'{key}_full_epochs']  # every configuration to r_max
        print(f'{method}: {total} epochs, {total / full:.1%} of training its '
              'configurations fully')
    _, ax = d2l.plt.subplots(figsize=(6, 0.3 * len(rounds) + 1))
    levels = costs['rung_levels']
    for i, (name, sizes) in enumerate(rounds):
        left = 0
        for n, r in sizes:  # one segment per rung, colored by its level
            ax.barh(i, n * r, left=left, color=f'C{levels.index(r)}',
                    edgecolor='white')
            left += n * r
    ax.set_yticks(range(len(rounds)), [name for name, _ in rounds])
    ax.invert_yaxis()
    ax.legend([d2l.plt.Rectangle((0, 0), 1, 1, color=f'C{k}')
               for k in range(len(levels))], levels, title='epochs',
              loc='upper left', bbox_to_anchor=(1, 1))
    ax.set_xlabel('epochs trained')
    d2l.plt.tight_layout()
    d2l.plt.show()  # in a widget, the figure appears in its output

class LearningCurves:
    """Validation errors and epoch times recorded for configurations."""
    def __init__(self, configs, errors, seconds, dataset=''):
        """Defined in :numref:`sec_asha_scratch`"""
        self.configs = [dict(config) for config in configs]
        # errors[i, t]: validation error of configs[i] after epoch t + 1,
        # seconds[i, t]: how long that epoch took
        self.errors = np.asarray(errors, dtype=float)
        self.seconds = np.asarray(seconds, dtype=float)
        self.dataset, self.max_epochs = dataset, self.errors.shape[1]
        self.rows = {self.key(c): i for i, c in enumerate(self.configs)}

    @staticmethod
    def key(config):  # the hyperparameters, without 'max_epochs'
        return tuple(sorted((name, value) for name, value in config.items()
                            if name != 'max_epochs'))

    def row(self, config):
        """The index of `config` in the table (KeyError if it has none)."""
        return self.rows[self.key(config)]

def load_learning_curves(name='lenet_learning_curves.csv'):
    """Read a table of learning curves from d2l/data (or from a path).

    Defined in :numref:`sec_asha_scratch`"""
    path = name if os.path.exists(name) else os.path.join(
        os.path.dirname(d2l.__file__), 'data', name)
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip()]
    dataset = ''.join(line.split(':', 1)[1].strip() for line in lines
                      if line.startswith('# dataset:'))
    header, *values = [line.split(',') for line in lines if line[0] != '#']
    rows = sorted((dict(zip(header, v)) for v in values),
                  key=lambda row: (int(row['config_id']), int(row['epoch'])))
    names = [name for name in header if name not in (
        'config_id', 'epoch', 'validation_error', 'epoch_seconds')]
    configs = {row['config_id']: {name: int(row[name]) if row[name].isdigit()
                                  else float(row[name]) for name in names}
               for row in rows}
    column = lambda name: np.array([float(row[name]) for row in rows]
                                   ).reshape(len(configs), -1)
    return LearningCurves(list(configs.values()), column('validation_error'),
                          column('epoch_seconds'), dataset)

class OutOfConfigurations(Exception):
    """A searcher has no configuration left to propose.

    Defined in :numref:`sec_asha_scratch`"""

class TableSearcher(d2l.HPOSearcher):
    """Random search over the rows of a `LearningCurves` table, without
    replacement.

    Defined in :numref:`sec_asha_scratch`"""
    def __init__(self, curves, seed=0):
        self.save_hyperparameters()
        self.order = list(range(len(curves.configs)))
        random.Random(seed).shuffle(self.order)

    def sample_configuration(self):
        if not self.order:
            raise OutOfConfigurations(
                f'all {len(self.curves.configs)} configurations of the table '
                'have been drawn')
        return dict(self.curves.configs[self.order.pop()])

class PromotionASHAScheduler(d2l.HPOScheduler):
    """Asynchronous successive halving, promotion type.

    Defined in :numref:`sec_asha_scratch`"""
    def __init__(self, searcher, eta, r_min, r_max):
        self.save_hyperparameters()
        self.rung_levels = d2l.rung_levels(r_min, r_max, eta)
        # Rung level -> results recorded there, in order of arrival
        self.rungs = {r: [] for r in self.rung_levels}

    def promotable(self):
        """(entry, next rung level) of a configuration to promote, or None.
    
        Defined in :numref:`sec_asha_scratch`"""
        for r, r_next in reversed(list(zip(self.rung_levels[:-1],
                                           self.rung_levels[1:]))):
            entries = self.rungs[r]
            top = sorted(entries, key=lambda entry: entry['error'])
            for entry in top[:int(len(entries) / self.eta)]:
                if not entry['promoted']:
                    return entry, r_next
        return None

    def suggest(self):
        """Defined in :numref:`sec_asha_scratch`"""
        found = self.promotable()
        if found is None:  # nothing to promote: start a new configuration
            config = self.searcher.sample_configuration()
            return dict(config, max_epochs=self.rung_levels[0])
        entry, r_next = found
        entry['promoted'] = True
        return dict(entry['config'], max_epochs=r_next)
    

    def update(self, config, error, info=None):
        """Defined in :numref:`sec_asha_scratch`"""
        hyperparameters = {name: value for name, value in config.items()
                           if name != 'max_epochs'}
        if not d2l.is_failure(error):  # a failed trial is never recorded
            self.rungs[config['max_epochs']].append(
                {'config': hyperparameters, 'error': error, 'promoted': False})
        self.searcher.update(config, error, info)

class StoppingASHAScheduler(d2l.HPOScheduler):
    """Asynchronous successive halving, stopping type.

    Defined in :numref:`sec_asha_scratch`"""
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
        if d2l.is_failure(error):  # stopped, and never recorded
            return True
        recorded = self.rungs[epoch]
        recorded.append(error)
        better = sum(other < error for other in recorded)
        return better > len(recorded) / self.eta

    def update(self, config, error, info=None):
        self.searcher.update(config, error, info)

class SimulationTrace:
    """The outcome of a simulated experiment."""
    def __init__(self, n_workers, max_time):
        """Defined in :numref:`sec_asha_scratch`"""
        self.n_workers, self.max_time = n_workers, max_time
        self.times, self.best_errors = [], []  # whenever the best improved
        self.busy = [0.0] * n_workers  # seconds each worker spent training
        self.n_jobs = self.n_trials = 0
        self.out_of_configurations = None  # when the searcher ran out
        # (worker, start, end, epochs trained by then) of each finished job,
        # and of each job still running at max_time, with end = max_time
        self.jobs = []

    def record(self, time, error):
        if d2l.is_failure(error):  # a failure is never the best so far
            return
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

    Defined in :numref:`sec_asha_scratch`"""
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
                self.trace.jobs.append((worker, job['began'], self.max_time,
                                        job['epoch']))
        return self.trace

    def assign_jobs(self):
        """Defined in :numref:`sec_asha_scratch`"""
        for worker, job in enumerate(self.jobs):
            if job is None:
                try:
                    config = self.scheduler.suggest()
                except OutOfConfigurations:
                    if self.trace.out_of_configurations is None:
                        self.trace.out_of_configurations = self.time
                    return
                if config is None:  # the scheduler waits for results
                    return
                self.start_job(worker, config)
    

    def start_job(self, worker, config):
        """Defined in :numref:`sec_asha_scratch`"""
        row = self.curves.row(config)
        max_epochs = config.get('max_epochs', self.curves.max_epochs)
        epoch = self.checkpoints.get(row, 0)
        if epoch >= max_epochs or hasattr(self.scheduler, 'should_stop'):
            epoch = 0  # train from scratch
        self.trace.n_jobs += 1
        self.trace.n_trials += epoch == 0
        self.jobs[worker] = {
            'config': config, 'row': row, 'epoch': epoch,
            'max_epochs': max_epochs, 'start': self.time, 'began': self.time,
            'end': self.time + self.curves.seconds[row, epoch]}

    def finish_epoch(self, worker):
        """Defined in :numref:`sec_asha_scratch`"""
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
            self.trace.jobs.append((worker, job['began'], self.time, epoch))
            self.jobs[worker] = None
        else:
            job.update(epoch=epoch, start=self.time,
                       end=self.time + self.curves.seconds[row, epoch])

def rank_correlation(x, y):
    """Spearman's rank correlation of the sequences x and y.

    Defined in :numref:`sec_asha_scratch`"""
    def ranks(values):  # 1 for the smallest; ties get their mean rank
        _, inverse, counts = np.unique(values, return_inverse=True,
                                       return_counts=True)
        return (np.cumsum(counts) - (counts - 1) / 2)[inverse]
    return np.corrcoef(ranks(x), ranks(y))[0, 1]

class SyneTuneScheduler(d2l.HPOScheduler):
    """A Syne Tune scheduler on the rows of a `LearningCurves` table.

    Defined in :numref:`sec_asha_scratch`"""
    def __init__(self, searcher, make_scheduler):
        from syne_tune.config_space import randint
        self.curves = searcher.curves
        n_rows = len(self.curves.configs)
        # make_scheduler(space, points) must create a scheduler for the metric
        # 'validation_error' and time_attr 'epoch' that tries `points` first
        points = [{'row': self.curves.row(searcher.sample_configuration())}
                  for _ in range(n_rows)]
        self.scheduler = make_scheduler({'row': randint(0, n_rows - 1)},
                                        points)
        self.trials = {}  # id of the job of a running trial -> the trial
        self.n_trials = 0

    def suggest(self):
        import datetime
        from syne_tune.backend.trial_status import Trial
        suggestion = self.scheduler.suggest()
        if suggestion is None:
            return None
        if self.n_trials == len(self.curves.configs):  # no row is left
            raise OutOfConfigurations(
                f'all {self.n_trials} configurations of the table have been '
                'drawn')
        trial = Trial(trial_id=self.n_trials, config=suggestion.config,
                      creation_time=datetime.datetime.now())
        self.n_trials += 1
        self.scheduler.on_trial_add(trial)
        job = dict(self.curves.configs[suggestion.config['row']],
                   max_epochs=self.curves.max_epochs)
        self.trials[id(job)] = trial
        return job

    def should_stop(self, config, epoch, error):
        trial = self.trials[id(config)]
        result = {'epoch': epoch, 'validation_error': error}
        if self.scheduler.on_trial_result(trial, result) == 'STOP':
            self.scheduler.on_trial_remove(trial)
            self.trials[id(config)] = None
            return True
        return False

    def update(self, config, error, info=None):
        trial = self.trials.pop(id(config))
        if trial is not None:  # the trial ran to its end without a STOP
            self.scheduler.on_trial_complete(trial, {
                'epoch': config['max_epochs'], 'validation_error': error})

def target_error(traces, quantile=0.75):
    """An error that at least `quantile` of the runs in `traces` reach: the
    quantile of their final best errors, rounded up to one of them.

    Defined in :numref:`sec_asha_scratch`"""
    finals = [t.best_errors[-1] if t.best_errors else 1.0 for t in traces]
    return float(np.quantile(finals, quantile, method='higher'))

def ratio_interval(times, reference, level=0.95, n_resamples=1000,
                   seed=0):
    """median(times) / median(reference) and its bootstrap interval; the
    runs are resampled in pairs (same seed), with replacement.

    Defined in :numref:`sec_asha_scratch`"""
    times = np.asarray(times, dtype=float)
    reference = np.asarray(reference, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(times), size=(n_resamples, len(times)))
    with np.errstate(invalid='ignore'):  # inf / inf: count as infinite
        ratio = np.median(times) / np.median(reference)
        ratios = np.sort(np.median(times[idx], axis=1) /
                         np.median(reference[idx], axis=1))
    ratios = np.where(np.isnan(ratios), np.inf, ratios)  # sorted still
    ratio = np.inf if np.isnan(ratio) else ratio
    k = int((1 - level) / 2 * n_resamples)
    return float(ratio), ratios[k], ratios[n_resamples - 1 - k]

def scheduler_by_name(method, searcher, eta):
    """A scheduler of this chapter, by name, on a `TableSearcher`.

    Defined in :numref:`sec_asha_scratch`"""
    rungs = dict(eta=eta, r_min=1, r_max=searcher.curves.max_epochs)
    if method == 'asynchronous Hyperband':
        from syne_tune.optimizer.baselines import ASHA
        return SyneTuneScheduler(searcher, lambda space, points: ASHA(
            space, metric='validation_error', do_minimize=True,
            time_attr='epoch', max_t=rungs['r_max'], grace_period=1,
            reduction_factor=eta, brackets=len(d2l.rung_levels(**rungs)),
            points_to_evaluate=points, random_seed=0))
    return {'random search': lambda: d2l.BasicScheduler(searcher),
            'synchronous SH': lambda: d2l.SuccessiveHalvingScheduler(
                searcher, **rungs),
            'ASHA (promotion)': lambda: PromotionASHAScheduler(
                searcher, **rungs),
            'ASHA (stopping)': lambda: StoppingASHAScheduler(
                searcher, **rungs)}[method]()

def show_worker_timeline(curves, method='ASHA (stopping)', n_workers=4,
                         eta=3, seed=0):
    """Simulate a run with the compute of 32 average full trainings and
    draw its jobs per worker and its best error so far.

    Defined in :numref:`sec_asha_scratch`"""
    budget = 32 * curves.seconds.sum(axis=1).mean() / n_workers
    scheduler = scheduler_by_name(method, TableSearcher(curves, seed), eta)
    trace = Simulator(curves, n_workers, budget).run(scheduler)
    levels = d2l.rung_levels(1, curves.max_epochs, eta)
    print(f'{method}, {n_workers} worker{"s" * (n_workers > 1)}, '
          f'eta = {eta}, seed {seed}: '
          f'{trace.n_jobs} jobs, {trace.n_trials} trials, best error '
          f'{trace.best_errors[-1]:.3f}, utilization {trace.utilization:.1%}')
    fig, (ax, ax_best) = d2l.plt.subplots(
        1, 2, figsize=(8, 1.5 + 0.2 * n_workers), width_ratios=(2, 1))
    for worker in range(n_workers):
        jobs = [job for job in trace.jobs if job[0] == worker]
        rungs = [max(np.searchsorted(levels, epochs, 'right') - 1, 0)
                 for *_, epochs in jobs]  # highest rung level reached
        ax.broken_barh([(start, end - start) for _, start, end, _ in jobs],
                       (worker - 0.4, 0.8), edgecolor='white', linewidth=0.3,
                       facecolors=[f'C{k}' for k in rungs])
    ax.legend([d2l.plt.Rectangle((0, 0), 1, 1, color=f'C{k}')
               for k in range(len(levels))], levels, title='epochs',
              fontsize='small', loc='upper left', bbox_to_anchor=(1, 1))
    ax.set_xlim(0, budget)
    ax.set_yticks(range(n_workers))
    ax.set_xlabel('simulated time (seconds)')
    ax.set_ylabel('worker')
    ax_best.step(trace.times + [budget], trace.best_errors
                 + trace.best_errors[-1:], where='post')
    ax_best.set_xlim(0, budget)
    ax_best.set_xlabel('simulated time (seconds)')
    ax_best.set_ylabel('best validation error')
    fig.tight_layout()
    d2l.plt.show()  # in a widget, the figure appears in its output

def ray_tune_report(epoch, error):
    """Pass a report(epoch, error) of hpo_objective on to Ray Tune.

    Defined in :numref:`sec_ray_tune`"""
    from ray import tune  # imported here: the library does not need Ray
    tune.report({'epoch': epoch, 'validation_error': error})
