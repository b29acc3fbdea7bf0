"""Our components as plugins in real Avalanche ``Naive`` pipelines: Hebbian consolidation pulls
important synapses towards their anchor, spiking sleep changes only what SRC's rule may, and
models a component cannot handle are refused before training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from continual.errors import ContinualError
from tests.avalanche.conftest import mlp, quiet_evaluator


def naive(model: nn.Module, plugins: list, epochs: int = 3, lr: float = 0.1):
    from avalanche.training import Naive

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return Naive(
        model=model,
        optimizer=optimizer,
        train_mb_size=32,
        train_epochs=epochs,
        eval_mb_size=256,
        plugins=plugins,
        evaluator=quiet_evaluator(),
    )


def accuracy(model: nn.Module, experience) -> float:
    with torch.no_grad():
        return float((model(experience.x_test).argmax(1) == experience.y_test).float().mean())


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_two(stream, benchmark, plugins: list):
    """Naive on experiences 0 and 1: the model, the weights after experience 0 (the anchor) and
    the accuracy on experience 0 then."""
    model = mlp()
    strategy = naive(model, plugins, epochs=5)
    torch.manual_seed(1)  # Avalanche shuffles with the global generator
    strategy.train(benchmark.train_stream[0])
    anchor, learned = snapshot(model), accuracy(model, stream[0])
    strategy.train(benchmark.train_stream[1])
    return model, anchor, learned


def test_hebbian_consolidation_pulls_important_synapses_to_the_anchor(stream, benchmark):
    from continual.avalanche import HebbianConsolidationPlugin

    plugin = HebbianConsolidationPlugin(strength=5.0)
    with_plugin, anchor, learned = train_two(stream, benchmark, [plugin])
    without, same_anchor, _ = train_two(stream, benchmark, [])
    # Identical until the first consolidation: the plugin does not touch the RNG or the update.
    assert all(torch.equal(anchor[k], same_anchor[k]) for k in anchor)
    assert learned > 0.9 and accuracy(with_plugin, stream[1]) > 0.9  # chance: 0.5 within each

    importance = plugin.component.anchor.importance
    names = [name for name, _ in with_plugin.named_parameters()]
    omega = torch.cat([importance[f"module.{n}"].flatten() for n in names])
    drift = {
        label: torch.cat(
            [(p.detach() - anchor[n]).abs().flatten() for n, p in model.named_parameters()]
        )
        for label, model in (("plugin", with_plugin), ("naive", without))
    }
    low, high = omega.quantile(torch.tensor([0.25, 0.75]))

    def ratio(selected: torch.Tensor) -> float:
        return float(drift["plugin"][selected].sum() / drift["naive"][selected].sum())

    # The pull λ·Ω·(θ − θ*) holds the most important quarter of synapses far closer to the anchor
    # than Naive does, and leaves the least important quarter almost free.
    assert ratio(omega >= high) < 0.7
    assert ratio(omega <= low) > 0.9


def silencer(model: nn.Module, rows: int):
    """A plugin, listed before sleep, that makes the first ``rows`` hidden neurons unable to
    spike (all incoming weights negative; input spikes are 0/1) and keeps the weights sleep
    starts from."""
    from avalanche.core import SupervisedPlugin

    class Silencer(SupervisedPlugin):
        before: dict[str, torch.Tensor] = {}

        def after_training_exp(self, strategy, *args, **kwargs):
            with torch.no_grad():
                model[0].weight[:rows] = -model[0].weight[:rows].abs()
            self.before = snapshot(model)

    return Silencer()


def test_spiking_sleep_changes_only_what_stdp_may(stream, benchmark):
    from continual.avalanche import SpikingSleepPlugin

    model = mlp(bias=True)
    silence = silencer(model, rows=8)
    sleep = SpikingSleepPlugin(steps=300, steps_increment=0)
    strategy = naive(model, [silence, sleep])
    with pytest.warns(UserWarning, match="sleep ignores the biases of 2"):
        strategy.train(benchmark.train_stream[0])
    before, after = silence.before, snapshot(model)

    assert sleep.summary()["spikes_per_layer"][0] > 0
    changed = {k: after[k] != before[k] for k in after}
    assert not changed["0.bias"].any() and not changed["2.bias"].any()  # biases ignored
    rows_changed = changed["0.weight"].any(1)
    assert not rows_changed[:8].any()  # neurons that cannot spike keep their input weights
    assert rows_changed[8:].sum() >= 4  # neurons that spiked were changed
    # In output neurons that spiked, synapses from the silent neurons never grow (− dec·B(w);
    # the reference bound B leaves weights above ~+0.005 unchanged), and some shrink.
    spiked = changed["2.weight"].any(1)
    assert spiked.any()
    silent_columns = (after["2.weight"] - before["2.weight"])[spiked][:, :8]
    assert (silent_columns <= 0).all() and (silent_columns < 0).any()


def test_sleep_refuses_models_that_are_not_a_linear_chain(benchmark):
    from continual.avalanche import SpikingSleepPlugin

    convolutional = nn.Sequential(nn.Unflatten(1, (1, 16)), nn.Conv1d(1, 2, 3), nn.Flatten())
    for model, message in (
        (convolutional, "Unflatten; sleep .SRC. runs the model as a chain"),
        (nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(4, 6)), "do not form a chain"),
    ):
        strategy = naive(model, [SpikingSleepPlugin(steps=10)])
        with pytest.raises(ContinualError, match=message):
            strategy.train(benchmark.train_stream[0])


@pytest.mark.parametrize("plugin", ["HebbianConsolidationPlugin", "SpikingSleepPlugin", "results"])
def test_multi_head_models_are_refused_before_training(plugin):
    """An Avalanche MultiTaskModule (called with task labels) on a task-labelled benchmark is
    refused when training starts, before any step, not with a TypeError after the first
    experience (consolidation) or a chain error (sleep)."""
    from avalanche.models import MTSimpleMLP

    import continual.avalanche as bridge
    from continual.scenarios.sources import synthetic
    from continual.scenarios.split import task_incremental

    data = synthetic(samples=120, features=16, classes=4)
    benchmark = bridge.to_benchmark(task_incremental(data, 0, experiences=2))
    torch.manual_seed(0)
    model = MTSimpleMLP(input_size=16, hidden_size=8)
    make = {
        "HebbianConsolidationPlugin": bridge.HebbianConsolidationPlugin,
        "SpikingSleepPlugin": bridge.SpikingSleepPlugin,
        "results": lambda: bridge.ResultsPlugin(benchmark, seed=0),
    }[plugin]
    strategy = naive(model, [make()])
    before = snapshot(model)
    with pytest.raises(ContinualError, match="MultiTaskModule .MTSimpleMLP.*single-head"):
        strategy.train(benchmark.train_stream[0])
    assert all(torch.equal(before[k], v) for k, v in snapshot(model).items())  # nothing trained


def test_replay_sleep_recovers_old_classes_offline(stream, benchmark):
    from continual.avalanche import ComponentPlugin, ReplaySleepPlugin
    from continual.replay.experience_replay import Replay

    final = {}
    for steps in (0, 20):
        model = mlp()
        plugin = ReplaySleepPlugin(steps=steps) if steps else None
        strategy = naive(model, [plugin] if plugin else [], epochs=2)
        for experience in benchmark.train_stream:
            strategy.train(experience)
        final[steps] = [accuracy(model, e) for e in stream]
    assert plugin is not None and plugin.summary()["steps"] == 3 * 20
    # Naive forgets the first classes completely; 20 offline steps on samples generated from
    # stored class statistics bring them back.
    assert final[0][0] < 0.2 and final[20][0] > 0.8
    with pytest.raises(ContinualError, match="ReplayPlugin"):
        ComponentPlugin(Replay())


def test_lwf_plugin_adds_its_distillation_term_to_the_strategys_loss():
    """In an Avalanche pipeline our LwF acts in ``before_backward``: the strategy's loss grows by
    exactly the component's term on the model's outputs (zero-free once the student moved)."""
    from types import SimpleNamespace

    from continual.avalanche.plugins import ComponentPlugin
    from continual.consolidation.lwf import LwF

    model = mlp(hidden=8)
    lwf = LwF(strength=1.5, temperature=2.0)
    plugin = ComponentPlugin(lwf)
    x, y = torch.rand(10, 16), torch.randint(0, 6, (10,))
    strategy = SimpleNamespace(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        _criterion=nn.CrossEntropyLoss(),
        mb_x=x,
        mb_y=y,
    )
    learner = plugin.learner(strategy)
    lwf.seen = {0, 1}
    lwf.before_experience(learner, None)  # the teacher: the model as it is now
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    strategy.mb_output = model(x)
    strategy.loss = nn.functional.cross_entropy(strategy.mb_output, y)
    base = float(strategy.loss)
    plugin.before_backward(strategy)
    with torch.no_grad():
        teacher = torch.softmax(lwf.teacher.predict(x)[:, [0, 1]] / 2.0, 1)
        student = torch.log_softmax(model(x)[:, [0, 1]] / 2.0, 1)
        term = 1.5 * 4.0 * float((teacher * (teacher.log() - student)).sum(1).mean())
    assert term > 1e-4
    assert float(strategy.loss) == pytest.approx(base + term, rel=1e-5)


class StoredImages(torch.utils.data.Dataset):
    """A torchvision-style dataset: images stored as ``data`` (N, 4, 4), samples served flat."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.data, self.targets = x.reshape(-1, 4, 4), y

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.data[i].flatten(), int(self.targets[i])


def test_sleep_finds_the_image_shape_of_flat_inputs(stream, benchmark):
    """SRC's square patch needs the image shape: given as image_shape, or found where the
    experience's dataset stores its images; flat inputs with neither are warned about."""
    import warnings

    from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
    from avalanche.benchmarks.utils import _make_taskaware_classification_dataset

    from continual.avalanche import SpikingSleepPlugin

    first = stream[0]
    stored = benchmark_from_datasets(
        train=[_make_taskaware_classification_dataset(StoredImages(first.x_train, first.y_train))],
        test=[_make_taskaware_classification_dataset(StoredImages(first.x_test, first.y_test))],
    )
    for experience, options, shape in (
        (stored.train_stream[0], {}, (4, 4)),  # from the dataset's stored images
        (benchmark.train_stream[0], {"image_shape": (4, 4)}, (4, 4)),  # as given
    ):
        sleep = SpikingSleepPlugin(steps=50, steps_increment=0, **options)
        strategy = naive(mlp(bias=False), [sleep], epochs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no flat-input warning
            strategy.train(experience)
        assert sleep.component.statistics.image_shape == shape
    sleep = SpikingSleepPlugin(steps=50, steps_increment=0)
    with pytest.warns(UserWarning, match="inputs are flat .16 features.*image_shape"):
        naive(mlp(bias=False), [sleep], epochs=1).train(benchmark.train_stream[0])
    assert sleep.component.statistics.image_shape == (16,)
