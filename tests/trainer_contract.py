"""The contract that every framework's ``Trainer`` keeps (they share
d2l.base.TrainerSkeleton). tests/test_torch.py, test_tensorflow.py and
test_mxnet.py run these checks in their own environments, each with its
d2l module, a function that seeds its framework, and a function
digits(num_train, num_val, batch_size) that makes a small DataModule of
handwritten digits. Each check returns what it trained, for the
framework's own further assertions."""


def fit_lowers_validation_error_and_continues(d2l, seed, digits, epochs=6):
    """fit trains max_epochs more epochs per call and keeps the optimizer;
    with plot=False nothing is plotted."""
    seed(0)
    data, model = digits(500, 200, 32), d2l.LeNet(lr=0.1)
    trainer = d2l.Trainer(max_epochs=1, plot=False)
    trainer.fit(model, data)
    first = trainer.validation_error()
    assert 0 <= first <= 1 and trainer.epoch == 1
    assert trainer.num_train_batches == 16  # 500 / 32, rounded up
    optimizer = trainer.optim
    for _ in range(epochs - 1):  # one epoch per call, as trial scripts do
        trainer.fit(model, data)
    assert trainer.epoch == epochs and trainer.optim is optimizer
    assert trainer.train_batch_idx == epochs * 16
    last = trainer.validation_error()
    assert last < first - 0.2, (first, last)
    assert model.board.data == {}  # nothing was plotted
    return trainer, model


def fit_with_plotting_and_clipping_records_curves(d2l, seed, digits):
    """Two points per epoch for the training loss, one per epoch for the
    validation loss and accuracy."""
    seed(0)
    data, model = digits(128, 64, 32), d2l.LeNet(lr=0.1)
    trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1.0)
    trainer.fit(model, data)
    assert set(model.board.data) == {'train_loss', 'val_loss', 'val_acc'}
    assert len(model.board.data['train_loss']) == 4
    assert [x for x, _ in model.board.data['val_acc']] == [1, 2]
    return trainer, model


def trainer_without_gpu_falls_back_to_cpu(d2l):
    """num_gpus asks for GPUs; the trainer takes those that exist."""
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    assert len(trainer.gpus) == min(1, d2l.num_gpus())
    return trainer
