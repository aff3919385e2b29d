"""The hardware profiles: how large the chapter's experiments are on a GPU
and on a CPU, and how a notebook picks one (``D2L_HPO_PROFILE``)."""
import dataclasses
import os

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
