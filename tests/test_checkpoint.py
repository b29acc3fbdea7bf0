"""Checkpoint and resume: every component's state round-trips, a run interrupted mid-experience
continues with the same batches and random draws, and a SIGKILLed ``continual run --resume``
ends with the same result file as an uninterrupted run."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from continual import checkpoint, registry
from continual.errors import ContinualError
from continual.learners.backprop import Backprop
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy
from tests.conftest import SYNTHETIC_SCENARIO, write

COMPONENTS = [
    {"name": "ewc", "fisher_samples": 50},
    {"name": "si"},
    {"name": "lwf"},
    {"name": "replay", "budget": 40, "policy": "reservoir"},
    {"name": "consolidation"},
    {"name": "sleep", "steps": 40, "steps_increment": 10, "every": 7},
    {"name": "replay-sleep", "steps": 5},
    {"name": "replay-sleep", "steps": 5, "source": "buffer", "budget": 30},
    {"name": "generative-replay", "hidden": [16], "latent": 4},
]


class Interrupted(Exception):
    pass


def _strategy(stream, component: dict) -> Strategy:
    torch.manual_seed(0)
    learner = Backprop(stream.input_dim, stream.num_classes, hidden=(16,), lr=0.01)
    return Strategy(learner, [registry.build("component", component)], batch_size=20, epochs=2)


def _through_disk(state: dict, path: Path) -> dict:
    torch.save(state, path)
    return torch.load(path, weights_only=True)  # plain data only: no pickled objects


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: "-".join(map(str, c.values())))
def test_resume_mid_experience_matches_uninterrupted_training(component, tmp_path):
    stream = class_incremental(synthetic(samples=300, classes=6), seed=0, experiences=3)
    reference = _strategy(stream, component)
    for experience in stream:
        reference.train_experience(experience)

    first = _strategy(stream, component)
    first.train_experience(stream[0])
    saved = {}

    def kill_at_step(step: int) -> None:
        if step == first.step and first.batch == 5:  # in the middle of experience 1
            saved.update(_through_disk(first.state_dict(), tmp_path / "state.pt"))
            raise Interrupted

    with pytest.raises(Interrupted):
        first.train_experience(stream[1], kill_at_step)

    resumed = _strategy(stream, component)  # a fresh process would build exactly this
    resumed.load_state_dict(saved)
    assert resumed.batch == 5
    resumed.train_experience(stream[1], resume=True)
    resumed.train_experience(stream[2])

    for (name, expected), actual in zip(
        reference.learner.state_dict().items(), resumed.learner.state_dict().values()
    ):
        if isinstance(expected, torch.Tensor):
            assert torch.equal(expected, actual), name
    assert resumed.step == reference.step
    assert resumed.components[0].summary() == reference.components[0].summary()
    assert torch.equal(resumed.generator.get_state(), reference.generator.get_state())


def test_checkpoint_of_another_run_or_garbage_is_a_clear_error(tmp_path):
    path = tmp_path / "run.pt"
    checkpoint.save(path, {"format": checkpoint.FORMAT, "run_id": "aaaa"})
    assert checkpoint.load(path, "aaaa")["run_id"] == "aaaa"
    assert checkpoint.load(tmp_path / "missing.pt", "aaaa") is None
    with pytest.raises(ContinualError, match="not of 'bbbb'"):
        checkpoint.load(path, "bbbb")
    path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ContinualError, match="not a readable checkpoint"):
        checkpoint.load(path, "aaaa")
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_checkpoint_cannot_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"format": checkpoint.FORMAT, "run_id": "x", "evil": Payload()}, "evil.pt")
    with pytest.raises(ContinualError, match="not a readable checkpoint"):
        checkpoint.load(Path("evil.pt"), "x")
    assert not Path("pwned").exists()


STRATEGY = """
description = "replay, EWC and sleep on a tiny MLP"
[learner]
name = "backprop"
hidden = [32]
lr = 0.01
[training]
epochs = 4
batch_size = 16
[[components]]
name = "replay"
budget = 60
[[components]]
name = "ewc"
fisher_samples = 60
[[components]]
name = "sleep"
steps = 150
steps_increment = 50
"""


def _command(scenario: Path, strategy: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "continual",
        "run",
        "--scenario",
        str(scenario),
        "--strategy",
        str(strategy),
        "--out",
        str(out),
        "--quiet",
        "--checkpoint-every",
        "2",
        *extra,
    ]


def _comparable(folder: Path) -> dict:
    (path,) = folder.glob("*.json")
    document = json.loads(path.read_text())
    for volatile in ("timings", "memory", "created"):
        document.pop(volatile)
    return document


def _mid_experience(path: Path) -> bool:
    try:
        state = torch.load(path, weights_only=True)
    except Exception:  # not written yet
        return False
    return state["position"]["started"] and state["strategy"]["batch"] > 0


def test_sigkilled_run_resumes_to_the_uninterrupted_result(tmp_path):
    scenario = write(tmp_path, "tiny.toml", SYNTHETIC_SCENARIO)
    strategy = write(tmp_path, "replay-ewc-sleep.toml", STRATEGY)
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    calm, killed = tmp_path / "calm", tmp_path / "killed"
    uninterrupted = subprocess.Popen(_command(scenario, strategy, calm), env=environment)
    victim = subprocess.Popen(_command(scenario, strategy, killed), env=environment)
    checkpoints = killed / "checkpoints"
    deadline = time.monotonic() + 120
    while not any(_mid_experience(p) for p in checkpoints.glob("*.pt")):
        assert victim.poll() is None, "the run finished before a checkpoint was seen"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not list(killed.glob("*.json"))
    (saved,) = checkpoints.glob("*.pt")
    state = torch.load(saved, weights_only=True)
    assert state["position"]["started"], "killed at an experience boundary, not in the middle"

    resumed = subprocess.run(
        _command(scenario, strategy, killed, "--resume"), env=environment, capture_output=True
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert uninterrupted.wait() == 0
    assert _comparable(killed) == _comparable(calm)
    assert not list(checkpoints.glob("*.pt"))  # dropped once the result was written


TASK_FREE = """
[dataset]
name = "synthetic"
samples = 600
features = 16
classes = 6
[generator]
name = "task-free"
experiences = 3
"""

SI_MLP = """
[learner]
name = "backprop"
hidden = [16]
lr = 0.01
[training]
mode = "{mode}"
epochs = 2
batch_size = 16
[[components]]
name = "si"
"""


@pytest.mark.parametrize(
    "scenario_text, mode",
    [(SYNTHETIC_SCENARIO, "sequential"), (SYNTHETIC_SCENARIO, "joint"), (TASK_FREE, "sequential")],
    ids=["sequential", "joint", "task-free"],
)
def test_every_protocol_resumes_to_the_same_result(tmp_path, scenario_text, mode):
    from continual import runner, specs
    from continual.checkpoint import Checkpointing

    scenario = specs.load_scenario(str(write(tmp_path, "s.toml", scenario_text)))
    strategy = specs.load_strategy(str(write(tmp_path, "si.toml", SI_MLP.format(mode=mode))))
    every = Checkpointing(tmp_path / "run.pt", every=3)
    reference = runner.run(scenario, strategy, seed=1)
    steps = [0]

    def die_at_step_17(n: int) -> None:
        steps[0] += n
        if steps[0] == 17:
            raise Interrupted  # before step 17's checkpoint: the one of step 15 remains

    with pytest.raises(Interrupted):
        runner.run(scenario, strategy, seed=1, progress=die_at_step_17, checkpoint=every)
    assert torch.load(every.path, weights_only=True)["strategy"]["step"] == 15
    resumed = runner.run(scenario, strategy, seed=1, checkpoint=Checkpointing(every.path, 3, True))
    for document in (reference, resumed):
        document.pop("timings"), document.pop("memory"), document.pop("created")
    assert resumed == reference


def test_a_backprop_state_saved_before_trained_classes_existed_still_loads():
    """Checkpoints (and LwF teachers) written before Backprop tracked its trained classes load
    with none marked, which leaves EWC's Fisher over every class, as it was then."""
    from continual.learners.backprop import Backprop

    old = Backprop(6, 4, hidden=(5,), loss_classes="batch")
    old.trained_classes[:2] = True
    state = old.state_dict()
    del state["trained_classes"]
    new = Backprop(6, 4, hidden=(5,), loss_classes="batch")
    new.load_state_dict(state)
    assert not new.trained_classes.any()
    torch.testing.assert_close(new.net[0].weight, old.net[0].weight)


def test_a_state_saved_by_another_optimiser_kernel_resumes_with_this_builds_kernel():
    """An Adam state written by foreach code (before fused Adam, or on a PyTorch without it)
    loads into this build's optimiser, which keeps stepping with its own kernel and the saved
    moments."""
    from continual.learners.backprop import Backprop
    from continual.learners.base import fused_adam

    old = Backprop(6, 4, hidden=(5,))
    x, y = torch.rand(8, 6), torch.randint(0, 4, (8,))
    old.observe(x, y)
    state = copy.deepcopy(old.state_dict())  # no tensor shared with the old optimiser
    for group in state["_extra_state"]["optimizer"]["param_groups"]:
        group.update(foreach=True, fused=None)  # as the foreach code wrote it
    new = Backprop(6, 4, hidden=(5,))
    new.load_state_dict(state)
    for group in new.optimizer.param_groups:
        assert group["fused"] is (True if fused_adam() else None)
    moments = new.optimizer.state[new.net[0].weight]["exp_avg_sq"]
    torch.testing.assert_close(moments, old.optimizer.state[old.net[0].weight]["exp_avg_sq"])
    new.observe(x, y)
    old.observe(x, y)
    torch.testing.assert_close(new.net[0].weight, old.net[0].weight, rtol=1e-5, atol=1e-6)
