"""Tests of bench/live.py's figures on the start-up of trials (the live Syne
Tune runs themselves take minutes and run only in `make bench`)."""
import sys

import pytest

from chapter import ROOT

sys.path.append(ROOT)
from bench import live  # noqa: E402


def fake_run(method='ASHA', sleep_time=0.5):
    """A run of two trials that began epochs and one that never did."""
    def trial(trial_id, launch, started, imported, first_epoch):
        return {'trial_id': trial_id, 'launch': launch, 'started': started,
                'imported': imported,
                'epoch_starts': {1: first_epoch, 2: first_epoch + 1.0}
                if first_epoch else {},
                'reports': {}, 'stop': None, 'end': launch + 10, 'data': ''}
    return {'method': method, 'sleep_time': sleep_time, 'trials': [
        trial(0, 100.0, 100.1, 101.0, 101.5),
        trial(1, 200.0, 200.1, 202.1, 203.0),
        trial(2, 300.0, 300.1, None, None)]}


def test_startup_runs_from_launch_to_the_first_epoch():
    run = fake_run()
    assert [live.startup(t) for t in run['trials']] == [1.5, 3.0, None]
    assert live.startups(run) == [1.5, 3.0]


def test_startup_section_states_median_and_max():
    probe = {'n': 3, 'now': [1.0, 1.2, 1.1], 'old': [3.0, 3.5, 3.1],
             'load': 0.5}
    text = '\n'.join(live.startup_text([fake_run()], probe))
    assert '| ASHA, sleep 0.5 s | 2 | 2.25 s | 3.00 s | 0.10 s, 1.45 s, ' \
           '0.70 s |' in text
    assert '| as the library is | 1.10 s | 1.20 s |' in text
    assert '| with the old start-up work | 3.10 s | 3.50 s |' in text
    without_probe = '\n'.join(live.startup_text([fake_run()], None))
    assert 'old start-up' not in without_probe


@pytest.mark.parametrize('old_startup', [False, True])
def test_probe_stops_the_trial_at_its_first_epoch(old_startup, monkeypatch,
                                                  tmp_path):
    pytest.importorskip('syne_tune')
    monkeypatch.setenv('D2L_OFFLINE', '1')
    monkeypatch.setenv('D2L_DATA_DIR', str(tmp_path))
    assert live.probe_startup(old_startup) > 0
