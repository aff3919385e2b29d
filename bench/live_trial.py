"""Training script of the live benchmark (bench/live.py): one Syne Tune trial.

It trains with the library's d2l.hpo_objective, reporting the validation
error after every epoch as the chapter's train_script_report_eachepoch.py
does, and prints time stamps of its own ('[bench] {...}' lines) so that
bench/live.py can split the trial's time into starting the process,
importing, setting up and training.

With the environment variable D2L_BENCH_OLD_STARTUP=1 it also does the
work that the library no longer does before the first epoch (importing
matplotlib.pyplot, creating a torch.optim optimizer, which imports
torch._dynamo, parsing the fallback digits without a cache): the reference
of bench/live.py's start-up probe.
"""
import json
import time

print('[bench] ' + json.dumps({'started': time.time()}), flush=True)

import os  # noqa: E402
import sys  # noqa: E402
from argparse import ArgumentParser  # noqa: E402

import torch  # noqa: E402
from syne_tune import Reporter  # noqa: E402

from d2l import torch as d2l  # noqa: E402


def restore_old_startup():
    """Put back the start-up work of the library before it was cut."""
    import matplotlib.pyplot  # noqa: F401  (d2l.base imported it)
    d2l.Module.configure_optimizers = lambda self: torch.optim.SGD(
        self.parameters(), lr=self.lr)
    d2l.fashion_mnist.digits_cache_file = lambda root: None  # no cache


def stamp(**values):
    print('[bench] ' + json.dumps(values), flush=True)


def time_epochs():
    """Print a time stamp when each epoch of HPOTrainer starts."""
    fit_epoch = d2l.HPOTrainer.fit_epoch

    def timed_fit_epoch(self):
        stamp(epoch_start=time.time(), epoch=self.epoch + 1)
        fit_epoch(self)
    d2l.HPOTrainer.fit_epoch = timed_fit_epoch


if __name__ == '__main__':
    if os.environ.get('D2L_BENCH_OLD_STARTUP') == '1':
        restore_old_startup()
    stamp(imported=time.time())
    parser = ArgumentParser()
    parser.add_argument('--learning_rate', type=float, required=True)
    parser.add_argument('--batch_size', type=int, required=True)
    parser.add_argument('--max_epochs', type=int, required=True)
    args, _ = parser.parse_known_args()  # Syne Tune adds --st_checkpoint_dir
    profile = d2l.choose_profile(d2l.num_gpus())
    torch.set_num_threads(profile.threads_per_trial)
    time_epochs()
    report = Reporter()
    d2l.hpo_objective(
        args.learning_rate, args.batch_size, args.max_epochs,
        report=lambda epoch, error: report(epoch=epoch,
                                           validation_error=error))
    stamp(finished=time.time())
    sys.stdout.flush()
