"""The worker timeline of rs-async.md (d2l.hpo): reading the moments of
each trial from a Syne Tune experiment, assigning workers, accounting for
the worker time, and drawing the timeline. All on hand-made tables and
folders, without running Syne Tune."""
import json
import math
import os
import types
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from d2l import hpo as d2l

START = 1000.0  # time stamp at which the hand-made experiment started


def results_table(rows):
    """A results table like Syne Tune's, from (trial_id, seconds since
    START of the report, st_worker_time) per report."""
    return pd.DataFrame({
        'trial_id': [trial_id for trial_id, _, _ in rows],
        'validation_error': [0.1] * len(rows),
        'st_worker_timestamp': [START + t for _, t, _ in rows],
        'st_worker_time': [worker_time for _, _, worker_time in rows]})


# Two workers, a deadline of 20 s. Trial 0: launched at 0, training from 2,
# report at 8, process end at 9. Trial 1: launched at 0, training from 3,
# report at 10, end at 11. Trial 2: launched at 9.5 (worker of trial 0),
# training from 12, report at 18, still exiting at the deadline. Trial 3:
# launched at 11.5 (worker of trial 1), cut off at the deadline.
DEADLINE = 20.0
RESULTS = results_table([(0, 8.0, 6.0), (1, 10.0, 7.0), (2, 18.0, 6.0)])
LAUNCHES = {0: START, 1: START, 2: START + 9.5, 3: START + 11.5}
ENDS = {0: START + 9.0, 1: START + 11.0}


@pytest.fixture
def spans():
    return d2l.trial_timeline(RESULTS, LAUNCHES, ENDS, START)


def test_trial_timeline_reads_the_four_moments(spans):
    assert [s.trial_id for s in spans] == [0, 1, 2, 3]
    moments = [(s.launch, s.begin, s.report, s.end) for s in spans]
    assert moments == [(0.0, 2.0, 8.0, 9.0), (0.0, 3.0, 10.0, 11.0),
                       (9.5, 12.0, 18.0, None), (11.5, None, None, None)]
    assert all(s.worker is None for s in spans)


def test_trial_timeline_takes_the_last_report_of_a_trial():
    # A trial that reports after every epoch: begin comes from any report,
    # the report is the last one, whatever the order of the rows
    results = results_table([(0, 9.0, 6.0), (0, 5.0, 2.0), (0, 7.0, 4.0)])
    (span,) = d2l.trial_timeline(results, {0: START + 1}, {}, START)
    assert (span.launch, span.begin, span.report, span.end) == (
        1.0, 3.0, 9.0, None)


def test_read_trial_timeline_from_an_experiment_folder(tmp_path):
    for trial_id, launch in LAUNCHES.items():
        folder = tmp_path / str(trial_id)
        folder.mkdir()
        (folder / 'config.json').write_text(json.dumps({'x': trial_id}))
        os.utime(folder / 'config.json', (launch, launch))
        if trial_id in ENDS:
            (folder / 'end').write_text(str(ENDS[trial_id]))
    (tmp_path / 'metadata.json').write_text('{}')  # not a trial's folder
    experiment = types.SimpleNamespace(
        path=Path(tmp_path), results=RESULTS,
        metadata={'st_tuner_start_timestamp': START})
    read = d2l.read_trial_timeline(experiment)
    expected = d2l.trial_timeline(RESULTS, LAUNCHES, ENDS, START)
    assert [s.trial_id for s in read] == [0, 1, 2, 3]
    for got, want in zip(read, expected):
        for field in ('launch', 'begin', 'report', 'end'):
            a, b = getattr(got, field), getattr(want, field)
            assert (a is None) == (b is None)
            if a is not None:
                assert a == pytest.approx(b, abs=1e-3)


def test_assign_workers_gives_a_trial_the_worker_free_longest(spans):
    workers = {s.trial_id: s.worker for s in d2l.assign_workers(spans, 2)}
    assert workers[0] != workers[1]
    assert workers[2] == workers[0]  # trial 0 ended first
    assert workers[3] == workers[1]


def test_assign_workers_keeps_a_busy_worker_busy():
    # Trial 0 never ends: trials 1 and 2 must share the other worker
    spans = [d2l.TrialSpan(0, 0.0, None, None, None),
             d2l.TrialSpan(1, 0.5, 1.0, 2.0, 3.0),
             d2l.TrialSpan(2, 4.0, 5.0, 6.0, 7.0)]
    workers = {s.trial_id: s.worker for s in d2l.assign_workers(spans, 2)}
    assert workers[1] == workers[2] != workers[0]


def test_worker_time_shares_add_up(spans):
    assigned = d2l.assign_workers(spans, 2)
    shares = d2l.worker_time_shares(assigned, 2, DEADLINE)
    assert shares['start-up'] == pytest.approx(2 + 3 + 2.5)
    assert shares['data and training'] == pytest.approx(6 + 7 + 6)
    # trial 2 reported at 18 and was still exiting at the deadline
    assert shares['after the report'] == pytest.approx(1 + 1 + 2)
    assert shares['cut off at the deadline'] == pytest.approx(20 - 11.5)
    assert shares['idle'] == pytest.approx(0.5 + 0.5)
    assert sum(shares.values()) == pytest.approx(2 * DEADLINE)


def test_worker_time_shares_cap_a_late_end_at_the_deadline():
    spans = [d2l.TrialSpan(0, 0.0, 1.0, 4.0, 7.0, worker=0)]
    shares = d2l.worker_time_shares(spans, 1, 5.0)
    assert shares['after the report'] == pytest.approx(1.0)
    assert shares['idle'] == pytest.approx(0.0)


def test_sync_rounds_utilization():
    # Lengths (launch to report) by trial id: 4, 2 | 3, 3 | 5 (incomplete)
    spans = [d2l.TrialSpan(1, 1.0, 2.0, 3.0, 3.5),
             d2l.TrialSpan(0, 0.0, 1.0, 4.0, 4.5),
             d2l.TrialSpan(3, 5.0, 6.0, 8.0, None),
             d2l.TrialSpan(2, 4.0, 5.0, 7.0, 7.5),
             d2l.TrialSpan(4, 6.0, 7.0, 11.0, None),
             d2l.TrialSpan(5, 9.0, None, None, None)]
    assert d2l.sync_rounds_utilization(spans, 2) == pytest.approx(
        (4 + 2 + 3 + 3) / (2 * 4 + 2 * 3))
    assert d2l.sync_rounds_utilization(spans, 1) == pytest.approx(1.0)
    assert d2l.sync_rounds_utilization(spans, 6) is None


def test_plot_worker_timeline_draws_each_part(spans):
    matplotlib.use('Agg')
    d2l.plt.close('all')
    d2l.plot_worker_timeline(d2l.assign_workers(spans, 2), 2, DEADLINE)
    ax = d2l.plt.gca()
    # three bars for each of the three trials that reported, one for the
    # trial that was cut off
    assert len(ax.patches) == 3 * 3 + 1
    assert sorted(t.get_text() for t in ax.texts) == ['0', '1', '2']
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        'start-up', 'data and training', 'after the report', 'cut off']
    assert ax.get_xlim()[1] > DEADLINE
    assert math.isclose(ax.lines[0].get_xdata()[0], DEADLINE)
    d2l.plt.close('all')
