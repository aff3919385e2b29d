"""Part 2: live Syne Tune runs with real training processes.

ASHA and random search with LocalBackend, 2 workers, the CPU profile
(D2L_HPO_PROFILE=cpu), the chapter's configuration space and schedulers.
Each trial runs bench/live_trial.py, which trains with d2l.hpo_objective and
prints time stamps. From them and from timed wrappers around the scheduler's
methods, we measure how the workers' time was spent, how many epochs ASHA's
stopped trials trained after the stop decision, and how long the scheduler
took to decide, and how long a trial takes from its launch to its first
epoch (start-up), both in the tuner's runs and in a probe that starts the
trial script alone, one process after another.
"""
import compileall
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TRIAL_SCRIPT = os.path.join(HERE, 'live_trial.py')
TIMED = ('suggest', 'on_trial_add', 'on_trial_result', 'on_trial_complete',
         'on_trial_remove')


def time_scheduler(scheduler):
    """Wrap the scheduler's methods (on the instance) so that every call is
    timed; return the log: a list of (method, seconds, trial_id, info)."""
    log = []

    def timed(name, method):
        def call(*args, **kwargs):
            start = time.perf_counter()
            out = method(*args, **kwargs)
            seconds = time.perf_counter() - start
            trial = kwargs.get('trial', args[0] if args else None)
            result = kwargs.get('result', args[1] if len(args) > 1 else None)
            info = {'now': time.time()}
            if name == 'on_trial_add':
                info['launch'] = trial.creation_time.timestamp()
            if name == 'on_trial_result':
                info.update(epoch=result['epoch'], decision=out,
                            reported=result.get('st_worker_timestamp'))
            log.append((name, seconds, getattr(trial, 'trial_id', None),
                        info))
            return out
        return call
    for name in TIMED:
        setattr(scheduler, name, timed(name, getattr(scheduler, name)))
    return log


def config_space(max_epochs):
    from syne_tune.config_space import loguniform, randint
    return {'learning_rate': loguniform(1e-3, 1),
            'batch_size': randint(8, 128), 'max_epochs': max_epochs}


def make_scheduler(method, space, max_epochs, seed):
    """The schedulers of the chapter (rs-async.md, sh-async.md)."""
    from syne_tune.optimizer.baselines import ASHA, RandomSearch
    np.random.seed(seed)  # Syne Tune samples from NumPy's global generator
    if method == 'RS':
        return RandomSearch(space, metrics=['validation_error'],
                            do_minimize=True, random_seed=seed)
    return ASHA(space, metric='validation_error', do_minimize=True,
                time_attr='epoch', max_t=max_epochs, grace_period=1,
                reduction_factor=2, brackets=1, random_seed=seed)


def run_tuner(method, sleep_time, seconds, n_workers, seed, max_epochs):
    """Run one experiment; return its measurements."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend import LocalBackend
    from syne_tune.tuner_logger import TunerLogger
    scheduler = make_scheduler(method, config_space(max_epochs), max_epochs,
                               seed)
    calls = time_scheduler(scheduler)
    tuner = Tuner(
        # rotate_gpus=False: the CPU profile; rotation would also run
        # nvidia-smi, which leaves a file std.out in the working directory
        trial_backend=LocalBackend(entry_point=TRIAL_SCRIPT,
                                   rotate_gpus=False),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=seconds),
        n_workers=n_workers, sleep_time=sleep_time,
        tuner_name=f'bench-{method.lower()}-sleep-{sleep_time}',
        output_logger=TunerLogger(use_colors=False, use_emojis=False))
    load = os.getloadavg()[0]
    start = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        tuner.run()
    end = time.time()
    # Every trial the tuner started went through on_trial_add
    started = sorted({trial_id for name, _, trial_id, _ in calls
                      if name == 'on_trial_add'})
    trials = [trial_timeline(tuner, trial_id, calls, end, max_epochs)
              for trial_id in started]
    return {'method': method, 'sleep_time': sleep_time, 'start': start,
            'end': end, 'n_workers': n_workers, 'max_epochs': max_epochs,
            'load_before': load, 'load_after': os.getloadavg()[0],
            'trials': trials, 'calls': calls}


def trial_timeline(tuner, trial_id, calls, tuner_end, max_epochs):
    """The time stamps of one trial: launch, process start, imports done,
    epoch starts and reports, stop decision, end."""
    from syne_tune.report import retrieve
    lines = tuner.trial_backend.stdout(trial_id)
    stamps = {}
    epoch_starts = {}
    for line in lines:
        if line.startswith('[bench] '):
            values = json.loads(line[len('[bench] '):])
            if 'epoch_start' in values:
                epoch_starts[values['epoch']] = values['epoch_start']
            else:
                stamps.update(values)
    reports = {r['epoch']: r['st_worker_timestamp'] for r in retrieve(lines)}
    launch = next(info['launch'] for name, _, t, info in calls
                  if name == 'on_trial_add' and t == trial_id)
    stop = None  # (epoch, time) of the scheduler's STOP before max_epochs
    for name, _, t, info in calls:
        if (name == 'on_trial_result' and t == trial_id
                and info['decision'] == 'STOP' and info['epoch'] < max_epochs):
            stop = (info['epoch'], info['now'])
    path = tuner.trial_backend.trial_path(trial_id)
    end = stamps.get('finished', tuner_end)  # the script ended by itself
    if os.path.exists(path / 'stop'):  # killed: by the scheduler or at the end
        end = min(end, os.path.getmtime(path / 'stop'))
    return {'trial_id': trial_id, 'launch': launch,
            'started': stamps.get('started'), 'imported': stamps.get('imported'),
            'epoch_starts': epoch_starts, 'reports': reports, 'stop': stop,
            'end': min(end, tuner_end), 'data': ''.join(
                line for line in lines if 'instead' in line).strip()}


def startup(trial):
    """Seconds from launching the trial to its first epoch, or None if it
    never began one."""
    if not trial['epoch_starts']:
        return None
    return min(trial['epoch_starts'].values()) - trial['launch']


def startups(run):
    return [s for s in map(startup, run['trials']) if s is not None]


def probe_startup(old_startup=False):
    """Launch bench/live_trial.py alone (CPU profile) and stop it when its
    first epoch begins; return the seconds from the launch to then.  With
    `old_startup`, the script also does the work that the library did
    before its first epoch until that was cut (see the script)."""
    env = dict(os.environ, D2L_HPO_PROFILE='cpu',
               D2L_BENCH_OLD_STARTUP='1' if old_startup else '0')
    launch = time.time()
    process = subprocess.Popen(
        [sys.executable, TRIAL_SCRIPT, '--learning_rate', '0.1',
         '--batch_size', '64', '--max_epochs', '1'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:
            if line.startswith('[bench] ') and 'epoch_start' in line:
                return json.loads(line[len('[bench] '):])['epoch_start'] - launch
        raise RuntimeError('the trial script ended before its first epoch')
    finally:
        process.kill()
        process.wait()


def probe_startups(n):
    """Start-up of `n` trials as the library is and `n` with its old
    start-up work, alternating, after one untimed trial of each (it writes
    the data cache and warms the operating system's file cache)."""
    times = {False: [], True: []}
    for i in range(n + 1):
        for old_startup in (False, True):
            seconds = probe_startup(old_startup)
            if i:
                times[old_startup].append(seconds)
    return {'n': n, 'now': times[False], 'old': times[True],
            'load': os.getloadavg()[0]}


def time_split(run):
    """Seconds of worker time by activity, summed over trials."""
    split = dict.fromkeys(['starting Python', 'imports', 'data and model setup',
                           'epochs (reported)', 'epochs cut off',
                           'after training'], 0.0)
    wasted_epochs, wasted_seconds = [], 0.0
    for trial in run['trials']:
        launch, end = trial['launch'], trial['end']
        first = min(trial['epoch_starts'].values(), default=end)
        marks = [launch, trial['started'] or end, trial['imported'] or end,
                 first]
        marks = [min(max(m, launch), end) for m in marks]
        split['starting Python'] += marks[1] - marks[0]
        split['imports'] += marks[2] - marks[1]
        split['data and model setup'] += marks[3] - marks[2]
        last = first
        for epoch, begin in sorted(trial['epoch_starts'].items()):
            if epoch in trial['reports']:
                split['epochs (reported)'] += trial['reports'][epoch] - begin
                last = trial['reports'][epoch]
            else:
                split['epochs cut off'] += end - begin
                last = end
        split['after training'] += max(end - last, 0.0)
        if trial['stop'] is not None:
            decided = trial['stop'][0]
            ran = max(trial['reports'])
            wasted_epochs.append(ran - decided)
            for epoch, begin in trial['epoch_starts'].items():
                if epoch > decided:
                    wasted_seconds += trial['reports'].get(epoch, end) - begin
    capacity = run['n_workers'] * (run['end'] - run['start'])
    split['idle'] = capacity - sum(split.values())
    return split, capacity, wasted_epochs, wasted_seconds


def latency(run):
    """Per method of the scheduler: (calls, median, 95 %, max) in ms."""
    out = {}
    for name in TIMED:
        seconds = [s for n, s, _, _ in run['calls'] if n == name]
        if seconds:
            out[name] = (len(seconds), 1e3 * np.median(seconds),
                         1e3 * np.percentile(seconds, 95), 1e3 * max(seconds))
    return out


def epoch_durations(run):
    """Seconds of every reported epoch (training and validation)."""
    return [t['reports'][e] - t['epoch_starts'][e] for t in run['trials']
            for e in t['reports'] if e in t['epoch_starts']]


def reaction_delays(run):
    """Seconds from each report to the scheduler's decision on it."""
    return [info['now'] - info['reported'] for name, _, _, info in run['calls']
            if name == 'on_trial_result' and info.get('reported')]


def plot_timeline(runs, path):
    """One row per trial: what its process did over time."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch
    plt.rcParams['svg.hashsalt'] = 'd2l-bench'
    colors = {'starting Python': 'C7', 'imports': 'C1', 'setup': 'C8',
              'epoch': 'C0', 'epoch after the stop decision': 'C3',
              'epoch cut off': 'C9'}
    fig, axes = plt.subplots(len(runs), 1, squeeze=False, sharex=True,
                             figsize=(8, 1.2 + 0.35 * sum(
                                 len(r['trials']) for r in runs)))
    for ax, r in zip(axes[:, 0], runs):
        for row, t in enumerate(r['trials']):
            def bar(begin, end, kind):
                if end > begin:
                    ax.barh(row, end - begin, left=begin - r['start'],
                            color=colors[kind], height=0.6, lw=0)
            first = min(t['epoch_starts'].values(), default=t['end'])
            bar(t['launch'], t['started'] or t['end'], 'starting Python')
            bar(t['started'] or t['end'], t['imported'] or t['end'],
                'imports')
            bar(t['imported'] or t['end'], first, 'setup')
            decided = t['stop'][0] if t['stop'] else r['max_epochs']
            for epoch, begin in sorted(t['epoch_starts'].items()):
                end = t['reports'].get(epoch, t['end'])
                kind = ('epoch after the stop decision' if epoch > decided
                        else 'epoch' if epoch in t['reports']
                        else 'epoch cut off')
                bar(begin, end, kind)
                ax.plot([end - r['start']] * 2, [row - 0.3, row + 0.3],
                        color='white', lw=0.6)
            if t['stop']:
                ax.plot(t['stop'][1] - r['start'], row, 'kx', ms=5)
        ax.set_yticks(range(len(r['trials'])))
        ax.set_yticklabels([f'trial {t["trial_id"]}' for t in r['trials']],
                           fontsize=7)
        ax.invert_yaxis()
        ax.axvline(r['end'] - r['start'], color='k', lw=0.7, ls=':')
        ax.set_title(f'{r["method"]}, sleep_time = {r["sleep_time"]} s',
                     fontsize=9)
    axes[-1, 0].set_xlabel('seconds since the tuner started')
    handles = [Patch(color=c, label=k) for k, c in colors.items()]
    fig.legend(handles=handles, loc='lower center', ncol=3, fontsize=7,
               bbox_to_anchor=(0.5, 0))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, metadata={'Date': None})
    plt.close(fig)


def save_raw(runs, path):
    """The measurements of all runs, as JSON (times are Unix seconds)."""
    def plain(x):
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        return x
    with open(path, 'w') as f:
        json.dump(plain(runs), f, indent=1)


def run(seconds=60, n_workers=2, seed=0, sleep_times=(0.5, 5.0), log=print,
        figures_dir=None, startup_probes=5):
    """Part 2: returns (markdown text, figure paths, headline numbers)."""
    os.environ['D2L_HPO_PROFILE'] = 'cpu'
    folder = tempfile.mkdtemp(prefix='d2l-bench-syne-tune-')
    os.environ['SYNETUNE_FOLDER'] = folder
    import logging
    logging.getLogger('syne_tune').setLevel(logging.ERROR)
    from d2l import hpo
    # Bytecode for the library, as pip writes it when it installs a package:
    # else, after an edit or with PYTHONDONTWRITEBYTECODE set, every trial
    # would compile the library's modules again (about 0.1 s).
    compileall.compile_dir(os.path.dirname(hpo.__file__), quiet=1)
    max_epochs = hpo.PROFILES['cpu'].max_epochs
    plan = [('RS', sleep_times[0])] + [('ASHA', s) for s in sleep_times]
    runs = []
    probe = None
    if startup_probes:
        log(f'  start-up of {startup_probes} + {startup_probes} trials, one '
            'at a time ...')
        probe = probe_startups(startup_probes)
    try:
        for method, sleep_time in plan:
            log(f'  {method}, sleep_time={sleep_time} s, {seconds} s ...')
            runs.append(run_tuner(method, sleep_time, seconds, n_workers, seed,
                                  max_epochs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures = []
    if figures_dir:
        figures.append(os.path.join(figures_dir, 'live_timeline.svg'))
        plot_timeline(runs, figures[0])
        save_raw(runs, os.path.join(figures_dir, 'live_runs.json'))
    return (report(runs, seconds, seed, bool(figures), probe), figures,
            headline(runs))


def headline(runs):
    out = {}
    for r in runs:
        split, capacity, wasted, wasted_s = time_split(r)
        starting = (split['starting Python'] + split['imports']
                    + split['data and model setup'])
        training = split['epochs (reported)'] + split['epochs cut off']
        lat = latency(r)
        delays, epochs = reaction_delays(r), epoch_durations(r)
        out[f'{r["method"]} sleep_time={r["sleep_time"]}'] = {
            'expected_epochs_after_stop': (np.mean(delays) / np.mean(epochs)
                                           if delays and epochs else None),
            'utilization': training / capacity,
            'starting_share': starting / capacity,
            'wasted_epochs_mean': float(np.mean(wasted)) if wasted else None,
            'stopped': len(wasted),
            'startup_median_s': (float(np.median(startups(r)))
                                 if startups(r) else None),
            'on_trial_result_ms_median': lat.get('on_trial_result', (0, 0))[1],
            'suggest_ms_median': lat.get('suggest', (0, 0))[1]}
    return out


def startup_text(runs, probe):
    """The section on the start-up of a trial, as a list of lines."""
    lines = ['### Start-up of a trial', '',
             'Start-up: seconds from launching a trial\'s process to the '
             'beginning of its first epoch (starting Python, imports, data set '
             'and model; the library is byte-compiled beforehand, as an '
             'installed package is). In the runs above, over the trials that '
             'began an epoch, while the other worker trains or starts a trial '
             'too:', '',
             '| run | trials | median | max | median of: starting Python, '
             'imports, setup |', '|:--|--:|--:|--:|--:|']
    for r in runs:
        times = startups(r)
        parts = [(t['started'] - t['launch'], t['imported'] - t['started'],
                  min(t['epoch_starts'].values()) - t['imported'])
                 for t in r['trials'] if t['epoch_starts'] and t['started']
                 and t['imported']]
        lines.append(
            f'| {r["method"]}, sleep {r["sleep_time"]} s | {len(times)} | '
            + (f'{np.median(times):.2f} s | {max(times):.2f} s | '
               if times else '- | - | ')
            + (', '.join(f'{np.median(p):.2f} s' for p in zip(*parts))
               if parts else '-') + ' |')
    if probe:
        now, old = probe['now'], probe['old']
        lines += [
            '', f'Probe, before the runs: the trial script started alone, '
            f'{probe["n"]} times as the library is and, alternating with '
            f'those, {probe["n"]} times with the start-up work that the '
            'library used to do put back (importing matplotlib.pyplot, '
            'creating a `torch.optim` optimizer, which imports '
            '`torch._dynamo`, and parsing the fallback digits without a '
            'cache); each process is stopped when its first epoch begins '
            f'(load average afterwards {probe["load"]:.2f}):', '',
            '| trial script | median | max |', '|:--|--:|--:|',
            f'| as the library is | {np.median(now):.2f} s | '
            f'{max(now):.2f} s |',
            f'| with the old start-up work | {np.median(old):.2f} s | '
            f'{max(old):.2f} s |']
    return lines + ['']


def worker_time_table(runs, splits):
    """Where the workers' time went, one column per run."""
    lines = []
    header = '| activity |' + ''.join(
        f' {r["method"]}, sleep {r["sleep_time"]} s |' for r in runs)
    lines += [header, '|:--|' + '--:|' * len(runs)]
    for key in splits[0][0]:
        lines.append(f'| {key} |' + ''.join(
            f' {s[key]:.1f} s ({s[key] / c:.0%}) |' for s, c, _, _ in splits))
    lines.append('| **worker time** |' + ''.join(
        f' {c:.1f} s |' for _, c, _, _ in splits))
    lines.append('| trials started |' + ''.join(
        f' {len(r["trials"])} |' for r in runs))
    lines.append('| epochs reported |' + ''.join(
        f' {sum(len(t["reports"]) for t in r["trials"])} |' for r in runs))
    util = [(s['epochs (reported)'] + s['epochs cut off']) / c
            for s, c, _, _ in splits]
    start = [(s['starting Python'] + s['imports'] + s['data and model setup'])
             for s, c, _, _ in splits]
    train = [s['epochs (reported)'] + s['epochs cut off'] for s, _, _, _ in splits]
    lines.append('| **utilization** (epochs / worker time) |' + ''.join(
        f' **{u:.0%}** |' for u in util))
    lines.append('| starting / training time |' + ''.join(
        f' {a / b:.2f} |' if b else ' - |' for a, b in zip(start, train)))
    return lines


def stop_decision_text(runs, splits):
    """The epochs that ASHA's stopped trials trained after the decision."""
    lines = ['### Epochs trained after ASHA\'s stop decision', '',
              'A trial keeps training until the tuner has read its report '
              'and killed it. Reaction delay: seconds from a report to the '
              'scheduler\'s decision on it (the kill follows at once), over '
              'all reports. Expected epochs after a stop decision: mean delay '
              '/ mean epoch. Observed: for each trial that ASHA stopped before '
              'max_t, the epochs it reported after the epoch of the decision '
              '(from the trial\'s output: the tuner discards them), and the '
              'training seconds after the decision, including the epoch cut '
              'off by the kill. With eta = 2, Syne Tune\'s ASHA never stops '
              'the first two trials at a rung, and starting a trial takes '
              'seconds, so a short run stops few trials: the expected value '
              'rests on every report, the observed one on these few.', '',
              '| sleep_time | reports | reaction delay: median, mean (max) '
              '| mean epoch | expected epochs after a stop | stopped trials | '
              'observed epochs after the decision: total (max) | seconds '
              'trained after decisions |',
              '|--:|--:|--:|--:|--:|--:|--:|--:|']
    for r, (s, c, wasted, wasted_s) in zip(runs, splits):
        if r['method'] != 'ASHA':
            continue
        delays, epochs = reaction_delays(r), epoch_durations(r)
        lines.append(
            f'| {r["sleep_time"]} s | {len(delays)} | '
            + (f'{np.median(delays):.2f} s, {np.mean(delays):.2f} s '
               f'({max(delays):.2f} s) | ' if delays else '- | ')
            + (f'{np.mean(epochs):.2f} s | ' if epochs else '- | ')
            + (f'{np.mean(delays) / np.mean(epochs):.2f} | '
               if delays and epochs else '- | ')
            + f'{len(wasted)} | '
            + (f'{sum(wasted)} ({max(wasted)}) | ' if wasted else '0 | ')
            + f'{wasted_s:.1f} s |')
    return lines


def latency_text(runs):
    """The time spent inside the scheduler's methods."""
    lines = ['', '### Scheduler decision latency', '',
              'Time spent inside the scheduler\'s methods (timed wrappers '
              'around the instance\'s methods), in milliseconds: calls, median,'
              ' 95th percentile, max.', '',
              '| run | method | calls | median ms | p95 ms | max ms |',
              '|:--|:--|--:|--:|--:|--:|']
    for r in runs:
        for name, (n, med, p95, mx) in latency(r).items():
            lines.append(f'| {r["method"]}, sleep {r["sleep_time"]} s | '
                         f'`{name}` | {n} | {med:.3f} | {p95:.3f} | {mx:.3f} |')
    return lines


def report(runs, seconds, seed, with_figure=False, probe=None):
    first = runs[0]
    data = next((t['data'] for r in runs for t in r['trials'] if t['data']),
                'Fashion-MNIST (no fallback message)')
    lines = [
        '## 2. Live Syne Tune runs (real processes)', '',
        f'LocalBackend, {first["n_workers"]} workers, CPU profile (LeNet, '
        f'{first["max_epochs"]} epochs, one thread per trial), '
        f'{seconds} s per experiment, the chapter\'s configuration space and '
        f'schedulers (seed {seed}): RandomSearch, and ASHA with grace_period=1,'
        ' reduction_factor=2, max_t=8. Trials run `bench/live_trial.py` '
        '(`d2l.hpo_objective(..., report=...)`, one report per epoch). '
        f'Data: {data}', '',
        'Load average (1 min) of the shared machine before / after each run: '
        + '; '.join(f'{r["method"]} {r["sleep_time"]} s: '
                    f'{r["load_before"]:.2f} / {r["load_after"]:.2f}'
                    for r in runs) + '. These figures depend on the machine '
        'and its load; they are measurements of one run, not guarantees.', '',
        '### Where the workers\' time went', '']
    if with_figure:
        lines += [
            '![what each trial\'s process did](figures/live_timeline.svg)', '',
            'One row per trial; a cross marks ASHA\'s stop decision, the '
            'dotted line the end of the tuner. The raw measurements are in '
            '`figures/live_runs.json`.', '']
    lines += [
        'Worker time = workers x wall time of the tuner. Starting Python: from'
        ' launching the process to the first line of the script; imports: '
        'the script\'s imports (torch, Syne Tune, d2l); setup: what '
        '`hpo_objective` does before the first epoch (data set, model, and '
        'imports done on first use, such as torchvision); epochs: training '
        'plus validation of each epoch '
        '(reported, or cut off when the process was killed); after '
        'training: from the last report to the end of the script; idle: the '
        'rest (the process exiting, the tuner noticing a free worker).', '']
    splits = [time_split(r) for r in runs]
    lines += worker_time_table(runs, splits)
    lines += [''] + startup_text(runs, probe)
    lines += stop_decision_text(runs, splits)
    lines += latency_text(runs)
    lines.append('')
    return '\n'.join(lines)
