"""Our forgetting report from an Avalanche run: a plugin that records our accuracy matrix
(a row before training and one after each training experience) and anytime curves (accuracy on
every experience every ``every`` training iterations) with our evaluator, and writes our result
file (the schema of :func:`continual.runner.run`) atomically after each ``strategy.train`` call,
so ``continual``'s report tools read it like any other run.

A row is taken once every plugin has finished the experience (at the next experience's start or
at the end of ``train``), so sleep or consolidation plugins listed after this one are included.
The forward-transfer baseline is the same architecture re-initialised by PyTorch's
``reset_parameters`` (our runner instead builds a fresh learner from the spec).

The run's seed (part of its run id, and what the report pairs seeds by) is ``seed`` when given,
else the seed torch was last seeded with (``torch.initial_seed()``) when the plugin is made: seed
torch before making it, once per run. An unseeded torch (whose initial seed is a random 64-bit
number) is refused rather than guessed at. The cost (FLOPs per phase, as
:func:`continual.evaluation.cost.run_cost` counts them for our runs) is probed at the end of every
``strategy.train`` call on copies of the model and of our plugins' components; the training
FLOPs are those of the model's step with our components, not of other Avalanche plugins, and the
evaluation FLOPs those of this plugin's evaluations, not of ``strategy.eval``.
"""

from __future__ import annotations

import copy
import datetime
import time
from pathlib import Path
from typing import Any

import torch
from avalanche.core import SupervisedPlugin
from torch import nn

from continual.avalanche.model import ModuleLearner
from continual.avalanche.streams import to_stream
from continual.errors import ContinualError
from continual.evaluation import metrics
from continual.evaluation.cost import memory_peaks, run_cost
from continual.evaluation.evaluator import Evaluator
from continual.evaluation.recorder import Recorder
from continual.learners.base import Learner
from continual.limits import MAX_SEED
from continual.ranges import Count, Seed, checked
from continual.results import SCHEMA_VERSION, write_json_atomic
from continual.runner import describe, environment, run_id


def _as_learner(strategy: Any) -> Learner:
    model = strategy.model
    if isinstance(model, Learner):
        return model
    return ModuleLearner(model, strategy.optimizer, strategy._criterion)


def reinitialised(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with every submodule's ``reset_parameters`` applied under ``seed``."""
    fresh = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1_000_003)
        for module in fresh.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return fresh


def run_seed(seed: int | None) -> int:
    """``seed``, or torch's initial seed when it is one a user set; refuses to guess."""
    if seed is None:
        seed = torch.initial_seed()
        if seed > MAX_SEED:
            raise ContinualError(
                "ResultsPlugin: which seed is this run? torch was not seeded (its initial seed "
                f"is the random {seed}); call torch.manual_seed(seed) before making the plugin, "
                "or pass seed=...: runs of different seeds need different run ids"
            )
    return int(seed)  # an explicit seed was checked by ResultsPlugin's annotation


class ResultsPlugin(SupervisedPlugin):
    """Record our accuracy matrix and anytime curves on ``benchmark``'s test stream; write the
    result file to ``path`` (if given) with ``scenario`` and ``strategy`` as the names reports
    group by, and ``seed`` (default: torch's initial seed, see above) as the run's seed."""

    @checked
    def __init__(
        self,
        benchmark: Any,
        path: str | Path | None = None,
        *,
        scenario: str = "avalanche",
        strategy: str = "avalanche",
        seed: Seed | None = None,
        every: Count = 10,
    ):
        super().__init__()
        seed = run_seed(seed)
        self.stream = to_stream(benchmark, scenario)
        self.path = None if path is None else Path(path)
        self.names = {"scenario": scenario, "strategy": strategy}
        self.seed, self.every = seed, every
        self.recorder: Recorder | None = None
        self.baseline: list[float] = []
        self.row_due = False
        self.steps = self.samples = 0
        self.started = time.perf_counter()
        self.train_seconds = 0.0
        self._train_start = 0.0
        self.plugins: list[str] = []
        self.components: dict[str, Any] = {}
        self.cost: dict[str, Any] = {}
        self.memory: dict[str, Any] = {}
        self._restored: dict[str, Any] | None = None  # a checkpoint's recorder state

    @property
    def accuracy_matrix(self) -> list[list[float]]:
        return [] if self.recorder is None else self.recorder.matrix

    def before_training(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        learner = _as_learner(strategy)
        if self.recorder is None:
            evaluator = Evaluator(self.stream, strategy.device)
            if self._restored is None:
                self.started = time.perf_counter()
                self.baseline = evaluator(reinitialised(learner, self.seed))
            self.recorder = Recorder(evaluator, learner, self.every)
            if self._restored is None:
                self.recorder.start()
            else:
                self.recorder.load_state_dict(self._restored)
        self.recorder.learner = learner  # the strategy may have replaced its model
        self._train_start = time.perf_counter()

    def before_training_exp(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        self._take_row()

    def after_training_iteration(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        assert self.recorder is not None
        self.steps += 1
        self.samples += len(strategy.mb_y)
        seconds = self.recorder.seconds
        self.recorder.on_step(self.steps)
        self._train_start += self.recorder.seconds - seconds  # evaluation is not training time

    def after_training_exp(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        self.row_due = True

    def after_training(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        self._take_row()
        self.train_seconds += time.perf_counter() - self._train_start
        self.plugins = [type(p).__name__ for p in strategy.plugins]
        self.components = {
            p.component.name: p.summary() for p in strategy.plugins if hasattr(p, "component")
        }
        self.cost = self._cost(strategy)
        self.memory = memory_peaks(str(strategy.device))
        if self.path is not None:
            write_json_atomic(self.path, self.document(strategy.device))

    def state_dict(self) -> dict[str, Any]:
        """Rows, curves, counters and times so far (plain data), for
        :func:`~continual.avalanche.checkpoint.save_checkpoint` at an experience boundary."""
        return {
            "seed": self.seed,
            "recorder": None if self.recorder is None else self.recorder.state_dict(),
            "baseline": list(self.baseline),
            "row_due": self.row_due,
            "steps": self.steps,
            "samples": self.samples,
            "train_seconds": self.train_seconds,
            "elapsed": time.perf_counter() - self.started,
            "plugins": list(self.plugins),
            "components": self.components,
            "cost": self.cost,
            "memory": self.memory,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (before the resumed run's first ``train`` call)."""
        if int(state["seed"]) != self.seed:
            raise ContinualError(
                f"ResultsPlugin: the checkpoint is of seed {state['seed']}, this plugin's seed is "
                f"{self.seed}; seed torch (or pass seed=) as for the saved run"
            )
        self.recorder, self._restored = None, state["recorder"]
        self.baseline = list(state["baseline"])
        self.row_due = bool(state["row_due"])
        self.steps, self.samples = int(state["steps"]), int(state["samples"])
        self.train_seconds = float(state["train_seconds"])
        self.started = time.perf_counter() - float(state["elapsed"])
        self.plugins, self.components = list(state["plugins"]), dict(state["components"])
        self.cost, self.memory = dict(state["cost"]), dict(state["memory"])

    def _cost(self, strategy: Any) -> dict[str, Any]:
        """FLOPs per phase and synaptic operations, probed on the last trained experience."""
        from continual.avalanche.plugins import ComponentPlugin

        assert self.recorder is not None
        last = self.stream[int(strategy.experience.current_experience)].to(strategy.device)
        return run_cost(
            self.recorder.learner,
            [p.component for p in strategy.plugins if isinstance(p, ComponentPlugin)],
            last,
            train_steps=self.steps,
            train_samples=self.samples,
            experiences=len(self.accuracy_matrix) - 1,
            predictions=self.recorder.predictions + len(self.recorder.evaluator.y),  # + baseline
            device=str(strategy.device),
        )

    def _take_row(self) -> None:
        """Always a fresh evaluation: an anytime point at the same step may predate the
        ``after_training_exp`` of later plugins (a sleep phase)."""
        if self.row_due and self.recorder is not None:
            self.recorder.end_experience(self.steps)  # a fresh full evaluation, always
            self.row_due = False

    def document(self, device: Any = "cpu") -> dict[str, Any]:
        """The result document so far; metrics over the experiences trained until now."""
        matrix = self.accuracy_matrix
        trained = len(matrix) - 1
        scores = (
            metrics.all_metrics([row[:trained] for row in matrix], self.baseline[:trained])
            if trained >= 1
            else dict.fromkeys(metrics.METRICS)
        )
        config = {
            "scenario": {"name": self.names["scenario"], "source": "avalanche"},
            "strategy": {
                "name": self.names["strategy"],
                "source": "avalanche",
                "plugins": self.plugins,
            },
        }
        assert self.recorder is not None
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": run_id(config, self.seed),
            **config,
            "seed": self.seed,
            "stream": describe(self.stream),
            "environment": environment(str(device)),
            "accuracy_matrix": matrix,
            "random_baseline": self.baseline,
            "metrics": scores,
            "curves": self.recorder.curves,
            "components": self.components,
            "cost": self.cost or {"train_steps": self.steps, "train_samples": self.samples},
            "memory": self.memory,
            "timings": {
                "train": self.train_seconds,
                "eval": self.recorder.seconds,
                "total": time.perf_counter() - self.started,
            },
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
