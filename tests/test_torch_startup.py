"""Tests of d2l/torch.py for the start-up of Syne Tune trial processes:
the library's SGD (creating a torch.optim optimizer imports torch._dynamo)
and the modules that a trial loads before its first epoch."""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip('torch')

from d2l import torch as d2l  # noqa: E402


def train_steps(make_optimizer, steps=5, clip=False):
    """Parameters of a LeNet after `steps` minibatch updates."""
    torch.manual_seed(0)
    model = d2l.LeNet(lr=0.3)
    X, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    optimizer = make_optimizer(model.parameters(), lr=0.3)
    for i in range(steps):
        loss = model.loss(model(X[8 * i:8 * i + 8]), y[8 * i:8 * i + 8])
        optimizer.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize('clip', [False, True])
def test_sgd_equals_torch_optim_sgd_bit_for_bit(clip):
    ours = train_steps(d2l.SGD, clip=clip)
    theirs = train_steps(torch.optim.SGD, clip=clip)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert not torch.equal(ours[0], train_steps(d2l.SGD, steps=0)[0])


def test_sgd_skips_parameters_without_gradients():
    used = torch.ones(2, requires_grad=True)
    unused = torch.ones(2, requires_grad=True)
    optimizer = d2l.SGD(iter([used, unused]), lr=0.5)  # a generator is fine
    (3 * used).sum().backward()
    optimizer.step()
    assert used.tolist() == [-0.5, -0.5] and unused.tolist() == [1, 1]
    optimizer.zero_grad()
    assert used.grad is None


def test_model_uses_the_library_sgd():
    model = d2l.LeNet(lr=0.02)
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, d2l.SGD) and optimizer.lr == 0.02
    assert len(optimizer.params) == len(list(model.parameters()))


TRIAL = '''
import json, sys
import torch
from d2l import torch as d2l
errors = []
d2l.hpo_objective(0.1, 128, max_epochs=1,
                  report=lambda epoch, error: errors.append(error))
print(json.dumps({'errors': errors, 'modules': sorted(sys.modules)}))
'''


def test_trial_imports_neither_dynamo_nor_matplotlib(tmp_path):
    """What a Syne Tune trial of the CPU profile does, in a new process."""
    env = dict(os.environ, D2L_HPO_PROFILE='cpu', D2L_OFFLINE='1',
               D2L_DATA_DIR=str(tmp_path), OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, '-c', TRIAL], env=env,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert len(result['errors']) == 1 and 0 <= result['errors'][0] <= 1
    loaded = set(result['modules'])
    assert 'torch' in loaded
    for module in ('torch._dynamo', 'sympy', 'matplotlib', 'torchvision'):
        assert module not in loaded, module
