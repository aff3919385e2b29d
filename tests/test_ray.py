"""ASHA on a local Ray instance, with the book's reporting adapter.

The Scaling-out section runs the chapter's objective with Ray Tune. This test
runs the same machinery on a cheap synthetic objective whose best
configuration is known, on a local Ray instance that listens on the loopback
interface only, and checks what ASHA decided:

* trials are stopped early, and only at rung levels, exactly where Ray's rule
  (stop a trial whose metric is worse than the (1 - 1/eta) quantile of the
  results recorded at the rung before it) says so, replayed on the order in
  which results reached the driver;
* at least one trial is trained up to ``max_t``;
* the known best configuration is found, and trained up to ``max_t``;
* the instance is shut down and leaves no process behind.

Ray is installed by ``make setup`` from static/requirements-ray.txt; it is
imported here unconditionally, so a missing Ray fails the test.
"""
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
import pytest
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler

from d2l import hpo

MAX_T, ETA = 8, 2
RUNG_LEVELS = (1, 2, 4)  # grace_period 1, reduction factor 2, below MAX_T
# The grid in the order in which trials are created; x = 5 is the best.
GRID = [2, 7, 0, 5, 3, 6, 1, 4]
BEST_X = 5


def error_curve(x, epoch):
    """Validation error of configuration x after `epoch` epochs: every
    curve falls with the epochs, and x = 5 is best at every epoch."""
    return (0.1 + 0.05 * abs(x - BEST_X)) * (1 + 1 / epoch)


def synthetic_objective(x, max_epochs, report):
    """Like d2l.hpo_objective: calls report(epoch, error) after each epoch
    and returns the last error."""
    for epoch in range(1, max_epochs + 1):
        time.sleep(0.05)  # an "epoch"
        report(epoch, error_curve(x, epoch))
    return error_curve(x, max_epochs)


def trainable(config):
    """The Ray Tune trial: the objective, reporting through the book's
    adapter d2l.ray_tune_report."""
    synthetic_objective(config['x'], config['max_epochs'],
                        report=hpo.ray_tune_report)


class ArrivalOrder(tune.Callback):
    """Records every result in the order in which the driver processed it,
    which is the order in which the scheduler saw them."""
    def __init__(self):
        self.results = []  # (trial_id, epoch, validation_error)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.results.append((trial.trial_id, result['epoch'],
                             result['validation_error']))


def replay_asha(results):
    """Ray's ASHA rule (one bracket, mode 'min') replayed on the results in
    arrival order: {trial_id: epoch at which ASHA stops it, or None}."""
    recorded = {r: {} for r in RUNG_LEVELS}
    stopped = {}
    for trial_id, epoch, error in results:
        if stopped.get(trial_id) is not None:
            continue
        stopped.setdefault(trial_id, None)
        if epoch not in recorded or trial_id in recorded[epoch]:
            continue
        earlier = list(recorded[epoch].values())
        # Ray compares -error with the (1 - 1/eta) quantile of -errors
        if earlier and -error < np.nanpercentile(
                [-e for e in earlier], (1 - 1 / ETA) * 100):
            stopped[trial_id] = epoch
        recorded[epoch][trial_id] = error
    return stopped


def ray_processes(temp_dir):
    """Processes of the Ray instance whose files are in temp_dir: the
    descendants of this process that are alive (Ray's workers rename
    themselves, so they are found as children of the raylet), and any
    process that names temp_dir on its command line."""
    found = {}
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                found[p.pid] = p.name()
        except psutil.Error:
            pass
    for p in psutil.process_iter(['pid', 'name', 'cmdline', 'status']):
        try:
            if (p.info['status'] != psutil.STATUS_ZOMBIE
                    and temp_dir in ' '.join(p.info['cmdline'] or [])):
                found[p.info['pid']] = p.info['name']
        except psutil.Error:
            pass
    return found


def listening_addresses(pids):
    """The local addresses on which the processes `pids` accept TCP
    connections."""
    addresses = set()
    for pid in pids:
        try:
            for conn in psutil.Process(pid).net_connections(kind='inet'):
                if conn.status == psutil.CONN_LISTEN:
                    addresses.add(conn.laddr.ip)
        except psutil.Error:
            pass
    return addresses


@pytest.fixture
def loopback_only(monkeypatch):
    """Make Ray keep a local instance on the loopback interface. On Linux,
    Ray replaces 127.0.0.1 by the machine's network address unless its
    "local-only" mode (the default on macOS and Windows) is on. The flag is
    read by this process (patched here) and by Ray's child processes (from
    the environment)."""
    monkeypatch.setenv('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
    monkeypatch.setattr(ray._private.ray_constants, 'ENABLE_RAY_CLUSTER',
                        False)
    monkeypatch.setenv('RAY_USAGE_STATS_ENABLED', '0')
    monkeypatch.delenv('RAY_ADDRESS', raising=False)


@pytest.fixture
def pickle_this_module_by_value():
    """Ray's workers cannot import this test module: ship its functions (the
    trainable and the objective) by value. d2l is installed, and goes by
    name, as in the book."""
    this_module = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(this_module)
    yield
    ray.cloudpickle.unregister_pickle_by_value(this_module)


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_library_does_not_need_ray():
    """d2l.hpo imports Ray only inside the adapter."""
    code = ('import sys, d2l.hpo; assert hasattr(d2l.hpo, "ray_tune_report");'
            ' print("ray" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == 'False'


def test_adapter_outside_tune_warns():
    """Outside a Tune trial, Ray drops the report, with a warning."""
    with pytest.warns(UserWarning, match='inside a function'):
        hpo.ray_tune_report(1, 0.5)


def test_asha_on_local_ray(loopback_only, pickle_this_module_by_value,
                           tmp_path):
    # Short: Ray puts Unix sockets in there (at most 107 characters).
    temp_dir = tempfile.mkdtemp(prefix='ray-test-')
    ray.init(address='local', num_cpus=2, num_gpus=0, include_dashboard=False,
             log_to_driver=False, _node_ip_address='127.0.0.1',
             _temp_dir=temp_dir, logging_level='ERROR')
    try:
        started = ray_processes(temp_dir)
        run_and_check_asha(temp_dir, tmp_path)
    finally:
        ray.shutdown()
    # Nothing of the instance is left running.
    assert {'raylet', 'gcs_server'} <= set(started.values()), started
    deadline = time.time() + 20
    while time.time() < deadline and (
            ray_processes(temp_dir) or any(map(alive, started))):
        time.sleep(0.5)
    assert not ray_processes(temp_dir)
    assert not [(pid, name) for pid, name in started.items() if alive(pid)]
    shutil.rmtree(temp_dir, ignore_errors=True)


def run_and_check_asha(temp_dir, storage):
    """Check where the instance listens, run ASHA on the grid and check its
    decisions."""
    node = ray.nodes()[0]
    assert node['NodeManagerAddress'] == '127.0.0.1'
    processes = ray_processes(temp_dir)
    assert 'raylet' in processes.values()
    addresses = listening_addresses(processes)
    assert addresses and addresses <= {'127.0.0.1', '::ffff:127.0.0.1', '::1'}, (
        addresses)

    arrivals = ArrivalOrder()
    scheduler = ASHAScheduler(time_attr='epoch', metric='validation_error',
                              mode='min', max_t=MAX_T, grace_period=1,
                              reduction_factor=ETA, brackets=1)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {'cpu': 1, 'gpu': 0}),
        param_space={'x': tune.grid_search(GRID), 'max_epochs': MAX_T},
        tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=1,
                                    max_concurrent_trials=2,
                                    time_budget_s=120, reuse_actors=True),
        run_config=tune.RunConfig(name='asha-synthetic',
                                  storage_path=str(storage), verbose=0,
                                  callbacks=[arrivals]))
    grid = tuner.fit()

    assert grid.num_errors == 0, [r.error for r in grid]
    assert len(grid) == len(GRID)
    last_epoch = {r.config['x']: int(r.metrics_dataframe['epoch'].max())
                  for r in grid}
    # Every result went through the adapter under the book's names.
    for r in grid:
        epochs = list(r.metrics_dataframe['epoch'])
        assert epochs == list(range(1, len(epochs) + 1))
        errors = list(r.metrics_dataframe['validation_error'])
        assert errors == pytest.approx(
            [error_curve(r.config['x'], t) for t in epochs])

    # Real decisions: some trials stopped early, at rung levels only ...
    stopped_early = {x: t for x, t in last_epoch.items() if t < MAX_T}
    assert stopped_early, last_epoch
    assert set(stopped_early.values()) <= set(RUNG_LEVELS), last_epoch
    # ... and some trained to max_t, the best configuration among them.
    assert MAX_T in last_epoch.values()
    assert last_epoch[BEST_X] == MAX_T
    best = grid.get_best_result(metric='validation_error', mode='min',
                                scope='all')
    assert best.config['x'] == BEST_X
    # The stops are exactly those of Ray's rule on the arrival order.
    trial_x = {r.metrics['trial_id']: r.config['x'] for r in grid}
    expected = replay_asha(arrivals.results)
    assert {trial_x[t]: epoch for t, epoch in expected.items()
            if epoch is not None} == stopped_early
