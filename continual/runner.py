"""A run is a pure function of (scenario spec, strategy spec, seed): build the stream, build the
strategy, train experience by experience, evaluate after each one (and every few steps), and
return the result document."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np
import torch

from continual import __version__, registry
from continual.checkpoint import Checkpointing, Position, RunCheckpoint
from continual.errors import ConfigError, Diverged
from continual.evaluation import metrics
from continual.evaluation.cost import learner_flops, memory_peaks, reset_memory_peak, run_cost
from continual.evaluation.evaluator import Evaluator
from continual.evaluation.probe import RepresentationProbe
from continual.evaluation.recorder import Recorder
from continual.evaluation.robustness import robustness
from continual.learners.base import Learner
from continual.results import SCHEMA_VERSION
from continual.scenarios.experience import Experience, Stream, merge, online_experiences
from continual.specs import ScenarioSpec, StrategySpec, readout_parts, scenario_to_dict
from continual.strategy import Strategy

Progress = Callable[[int], None]
T = TypeVar("T")


def cached(cache: dict[Any, Any] | None, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """``make()``, computed once per ``key`` when a ``cache`` is given (what does not change
    between the runs of one command: streams, reference evaluations, FLOP counts)."""
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _key(values: Any) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def stream_key(
    scenario: ScenarioSpec,
    seed: int,
    data_dir: str | None,
    described: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """The cache key of a stream: what :func:`build_stream` depends on (``described``: the
    scenario's :func:`scenario_to_dict`, when already computed: it hashes a user's data file)."""
    return ("stream", _key(described or scenario_to_dict(scenario)), seed, data_dir)


def build_stream(spec: ScenarioSpec, seed: int, data_dir: str | None = None) -> Stream:
    """The scenario's stream; the class order follows the spec's seed, or the run's if unset.
    ``data_dir`` is where file-based datasets look unless the spec says otherwise."""
    values = dict(spec.dataset.values)
    with spec.dataset.errors():
        factory = registry.lookup("dataset", values["name"]).load()
        if data_dir is not None and "data_dir" in registry.options(factory):
            values.setdefault("data_dir", data_dir)
        data = registry.build("dataset", values)
    with spec.generator.errors():
        return registry.build(
            "generator", spec.generator.values, data, spec.seed if spec.seed is not None else seed
        )


def build_learner(spec: StrategySpec, stream: Stream) -> Learner:
    with spec.learner.errors():
        learner = registry.build(
            "learner", spec.learner.values, stream.input_dim, stream.num_classes
        )
    if spec.readout is not None:
        with spec.readout.errors():
            attach_readout(learner, spec.readout.values)
    return learner


def attach_readout(learner: Learner, values: dict[str, Any]) -> None:
    """Give ``learner`` the ``[readout]`` table's readout (a statistics readout sized to its
    features, or its own trained one) and, for ``features = "untrained"``, freeze its features."""
    name, train_features, options = readout_parts(values)
    readout = None
    if name != "trained":
        with torch.no_grad():
            width = learner.features(torch.zeros(1, learner.input_dim)).shape[1]
        readout = registry.build("readout", {"name": name, **options}, width, learner.num_classes)
    learner.attach_readout(readout, train_features=train_features)


def build_strategy(spec: StrategySpec, stream: Stream, seed: int, device: str = "cpu") -> Strategy:
    """Learner (on ``device``) + components + the training loop, as the spec says."""
    learner = build_learner(spec, stream).to(device)
    components = []
    for section in spec.components:
        with section.errors():
            components.append(registry.build("component", section.values))
    training = spec.training
    if stream.online is not None:  # a task-free stream is seen once, in its own order
        return Strategy(
            learner, components, epochs=1, batch_size=training.batch_size, seed=seed, shuffle=False
        )
    return Strategy(
        learner,
        components,
        epochs=training.epochs,
        batch_size=training.batch_size,
        steps=training.steps,
        seed=seed,
    )


def total_steps(spec: StrategySpec, stream: Stream, strategy: Strategy) -> int:
    """Training steps a run will take (for progress bars)."""
    if stream.online is not None:
        return sum(-(-c.train_size // strategy.batch_size) for c in online_experiences(stream))
    if spec.training.mode == "joint":
        return strategy.steps_per_experience(sum(e.train_size for e in stream))
    return sum(strategy.steps_per_experience(e.train_size) for e in stream)


@dataclass
class Run:
    """A run between its steps: what :func:`prepare` builds, :func:`train` changes and
    :func:`measure` and :func:`document` read."""

    spec: StrategySpec
    seed: int
    device: str
    config: dict[str, Any]  # the resolved scenario and strategy, as the result file holds them
    identity: str  # the run id: a hash of ``config`` and ``seed``
    stream: Stream
    strategy: Strategy
    evaluator: Evaluator
    baseline: list[float]  # the untrained reference evaluation (for forward transfer)
    plan: list[Experience]  # what to train on, in order (on ``device``)
    recorder: Recorder
    probe: RepresentationProbe | None
    architecture: tuple[Any, ...]  # the cache key part of what a prediction goes through
    progress: Progress | None = None
    started: float = field(default_factory=time.perf_counter)  # after the data was loaded
    elapsed: float = 0.0  # seconds an interrupted run had taken before this process resumed it

    @property
    def learner(self) -> Learner:
        return self.strategy.learner

    def seconds(self) -> float:
        """Seconds the run has taken so far (its earlier processes included)."""
        return self.elapsed + time.perf_counter() - self.started


@dataclass(frozen=True)
class Measures:
    """What :func:`measure` finds after training: the metrics, the cost, robustness, timings."""

    scores: dict[str, Any]
    cost: dict[str, Any]
    robustness: dict[str, Any]
    timings: dict[str, float]


def run(
    scenario: ScenarioSpec,
    strategy_spec: StrategySpec,
    seed: int,
    device: str = "cpu",
    progress: Progress | None = None,
    data_dir: str | None = None,
    cache: dict[Any, Any] | None = None,
    checkpoint: Checkpointing | None = None,
    described: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``strategy_spec`` on ``scenario`` with ``seed``; return the result document, whose
    ``status`` is "complete", or "diverged" when training produced NaN or infinite values (the
    rows measured until then are kept, with where it diverged).

    The named steps: :func:`prepare`, :func:`train`, :func:`measure`, :func:`document`.
    Sequential runs train experience by experience and take a matrix row after each; joint runs
    train once on everything; on a task-free stream every sample is seen once in the stream's
    order (one pass, no shuffling, no boundaries) and a row is taken when each underlying task
    stops appearing. A ``cache`` shared by the runs of one command keeps the stream per
    (scenario, seed), the untrained reference evaluation per (scenario, seed, learner) and the
    FLOPs per sample per architecture; results are the same with or without it. With
    ``checkpoint``, the run's state is saved at every experience boundary (and every
    ``checkpoint.every`` steps), and with ``checkpoint.resume`` a run killed earlier continues
    from its checkpoint to the same result. ``described``: the scenario's
    :func:`~continual.specs.scenario_to_dict` when the caller has it (it hashes a user's data
    file: a cell describes its scenario once, not once more per run).
    """
    prepared = prepare(scenario, strategy_spec, seed, device, progress, data_dir, cache, described)
    saver = None if checkpoint is None else RunCheckpoint(checkpoint, prepared)
    diverged = train(prepared, saver)
    return document(prepared, measure(prepared, diverged, cache), diverged)


def prepare(
    scenario: ScenarioSpec,
    spec: StrategySpec,
    seed: int,
    device: str = "cpu",
    progress: Progress | None = None,
    data_dir: str | None = None,
    cache: dict[Any, Any] | None = None,
    described: dict[str, Any] | None = None,
) -> Run:
    """Seed, then build (or take from ``cache``) the stream, the strategy, the evaluator, the
    untrained reference evaluation, the training plan, the recorder and the probe
    (``described``: as for :func:`run`)."""
    reset_memory_peak(device)
    torch.manual_seed(seed)
    described = described or scenario_to_dict(scenario)
    data = stream_key(scenario, seed, data_dir, described)
    stream = cached(cache, data, partial(build_stream, scenario, seed, data_dir))
    started = time.perf_counter()  # loading the data is not the run's time (prepare() does it)
    strategy = build_strategy(spec, stream, seed, device)
    evaluator = cached(cache, ("evaluator", *data, device), partial(Evaluator, stream, device))
    architecture = (*data, device, _key(spec.learner.values))
    if spec.readout is not None:  # what a prediction goes through
        architecture += (_key(spec.readout.values),)
    baseline = cached(
        cache,
        ("baseline", *architecture),
        partial(reference_accuracy, spec, stream, evaluator, seed, device),
    )
    plan, row_steps = training_plan(spec, stream, strategy)
    plan = [e.to(device) for e in plan]
    per_experience = min(strategy.steps_per_experience(e.train_size) for e in plan)
    samples = spec.training.anytime_samples
    anytime = evaluator.stratified(samples, seed) if samples else None
    every = spec.training.eval_every or anytime_period(
        per_experience,
        10 * len(stream) if stream.online is not None else 10,
        len((anytime or evaluator).y),
        strategy.batch_size,
    )
    recorder = Recorder(evaluator, strategy.learner, every, row_steps, progress, anytime)
    probe = representation_probe(spec, stream, evaluator)
    config = {"scenario": described, "strategy": spec.to_dict()}
    return Run(
        spec=spec,
        seed=seed,
        device=device,
        config=config,
        identity=run_id(config, seed),
        stream=stream,
        strategy=strategy,
        evaluator=evaluator,
        baseline=baseline,
        plan=plan,
        recorder=recorder,
        probe=probe,
        architecture=architecture,
        progress=progress,
        started=started,
    )


def reference_accuracy(
    spec: StrategySpec, stream: Stream, evaluator: Evaluator, seed: int, device: str
) -> list[float]:
    """Accuracy on every experience of an independently initialised, untrained learner (the
    reference forward transfer is measured against), drawn without touching the run's random
    state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1_000_003)
        return evaluator(build_learner(spec, stream).to(device))


def train(run: Run, checkpoint: RunCheckpoint | None = None) -> Diverged | None:
    """Train ``run`` through its plan (from its checkpoint, when one is resumed), taking the
    matrix rows and probe rows and saving the checkpoint at every experience boundary; return
    the :class:`Diverged` that stopped it, or None."""
    position = checkpoint.restore() if checkpoint is not None else None
    if position is None:
        position = Position()
        run.recorder.start()
        if run.probe is not None:  # row 0: the untrained features, fitted on every experience
            run.probe.row(run.learner, run.plan)
    elif run.progress is not None:
        run.progress(run.strategy.step)
    try:
        for number in range(position.experience, len(run.plan)):
            on_step = run.recorder.on_step
            if checkpoint is not None:
                on_step = checkpoint.on_step(number, on_step)
            resume = number == position.experience and position.started
            run.strategy.train_experience(run.plan[number], on_step, resume=resume)
            if not run.recorder.row_steps:
                run.recorder.end_experience(run.strategy.step)
            if run.probe is not None:
                run.probe.row(run.learner, run.plan[: number + 1])
            if checkpoint is not None:
                checkpoint.save(Position(number + 1))
    except Diverged as error:  # keep what was measured; the document says where it stopped
        return error
    return None


def measure(
    run: Run, diverged: Diverged | None = None, cache: dict[Any, Any] | None = None
) -> Measures:
    """After training: the metrics of the accuracy matrix (none for a diverged run: they need
    every row; only ACC for a joint run), the cost (FLOPs per sample from ``cache`` when counted
    for this architecture), robustness, and the timings of every phase."""
    matrix = run.recorder.matrix
    if diverged is not None:
        scores: dict[str, Any] = {}
    elif run.spec.training.mode == "joint" and run.stream.online is None:
        scores = metrics.final_only(matrix[-1])
    else:
        scores = metrics.all_metrics(matrix, run.baseline)
        if run.probe is not None:
            scores.update(metrics.probe_metrics(run.probe.matrix))
    timings = dict(run.strategy.timings)
    timings["eval"] = run.recorder.seconds
    accounting = time.perf_counter()
    last = run.plan[-1]
    cost = run_cost(
        run.learner,
        run.strategy.components,
        last,
        train_steps=run.strategy.step,
        train_samples=run.strategy.samples_seen,
        experiences=len(run.plan),
        predictions=run.recorder.predictions + len(run.evaluator.y),  # + the untrained baseline
        device=run.device,
        # FLOPs per sample: once per architecture and input shape in a command
        per_sample=cached(
            cache, ("flops", *run.architecture), partial(learner_flops, run.learner, last)
        ),
    )
    timings["cost_accounting"] = time.perf_counter() - accounting
    attacks, attacked = run.spec.evaluation.robustness, time.perf_counter()
    robust = robustness(run.evaluator, run.learner, attacks.noise, attacks.fgsm)
    timings["robustness"] = time.perf_counter() - attacked
    timings["total"] = run.seconds()
    return Measures(scores, cost, robust, timings)


def document(run: Run, measures: Measures, diverged: Diverged | None = None) -> dict[str, Any]:
    """The result document: everything a report needs (config, seed, versions, matrix, curves,
    cost, timings), ``status`` "complete" or "diverged" (then with where and why)."""
    result = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.identity,
        "status": "complete" if diverged is None else "diverged",
        **run.config,
        "seed": run.seed,
        "stream": describe(run.stream),
        "environment": environment(run.device),
        "accuracy_matrix": run.recorder.matrix,
        "random_baseline": run.baseline,
        "metrics": measures.scores,
        "curves": run.recorder.curves,
        "components": {c.name: c.summary() for c in run.strategy.components},
        "cost": measures.cost,
        "robustness": measures.robustness,
        "timings": measures.timings,
        "memory": memory_peaks(run.device),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if run.probe is not None:  # absent without [evaluation] probe: earlier results unchanged
        result["probe"] = {"kind": run.spec.evaluation.probe, "matrix": run.probe.matrix}
    if diverged is not None:
        result["divergence"] = {
            "experience": diverged.experience,
            "step": diverged.step,
            "message": str(diverged),
        }
    return result


ANYTIME_SHARE = 0.1  # most anytime-evaluation forward passes per training forward-backward pass


def anytime_period(per_experience: int, points: int, evaluated: int, batch_size: int) -> int:
    """Steps between anytime curve points by default: ``points`` per experience (per unit of
    training), but no more often than keeps the samples predicted for the curve under
    ``ANYTIME_SHARE`` of the training cost, counting a training step as three forward passes of
    its batch (forward + backward ≈ 3 forwards): ``every ≥ evaluated / (0.1 · 3 · batch)``; and
    never fewer than ``points // 3`` points per unit (at tiny batches, where a point costs many
    steps, the curve keeps three points per experience and costs more than a tenth)."""
    budget = math.ceil(evaluated / (ANYTIME_SHARE * 3 * batch_size))
    coarsest = max(1, per_experience // max(1, points // 3))
    return max(1, per_experience // points, min(budget, coarsest))


def divergence_message(strategy: str, seed: int, detail: str) -> str:
    """How a diverged run is reported: the strategy and seed, then where and what diverged."""
    return f"training diverged: strategy {strategy}, seed {seed}, {detail}"


def representation_probe(
    spec: StrategySpec, stream: Stream, evaluator: Evaluator
) -> RepresentationProbe | None:
    """The probe the spec's ``[evaluation] probe`` asks for, or None. It needs experience
    boundaries: a task-free stream is refused."""
    kind = spec.evaluation.probe
    if kind is None:
        return None
    if stream.online is not None:
        raise ConfigError(
            f"[evaluation] probe = {kind!r} needs experience boundaries; {stream.name} is "
            "task-free (remove the probe or use a stream with experiences)",
            field="probe",
        )
    return RepresentationProbe(kind, evaluator)


def training_plan(
    spec: StrategySpec, stream: Stream, strategy: Strategy
) -> tuple[list[Experience], dict[int, int]]:
    """What to train on, in order, and the steps at which matrix rows are due with how many rows
    each (task-free only: several tasks can end within one batch, each gets its row).

    Sequential: the experiences. Joint: all of them merged. Task-free: the stream's online
    experience (``build_strategy`` makes it one pass without shuffling); rows are due when each
    task stops appearing, or at each chunk's end when boundaries are announced."""
    if stream.online is not None:
        chunks = online_experiences(stream)
        if len(chunks) > 1:
            return chunks, {}
        due = Counter(-(-end // strategy.batch_size) for end in stream.online.task_ends)
        return chunks, dict(due)
    if spec.training.mode == "joint":
        return [merge(list(stream))], {}
    return list(stream), {}


def run_id(config: dict[str, Any], seed: int) -> str:
    """A short hash of the full configuration and seed: equal ids mean equal runs."""
    text = json.dumps({**config, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe(stream: Stream) -> dict[str, Any]:
    return {
        "name": stream.name,
        "task_free": stream.online is not None,
        "task_ends": None if stream.online is None else list(stream.online.task_ends),
        "num_classes": stream.num_classes,
        "input_shape": list(stream.input_shape),
        "experiences": [
            {
                "index": e.index,
                "classes": list(e.classes),
                "task": e.task,
                "train_size": e.train_size,
                "test_size": len(e.y_test),
            }
            for e in stream
        ],
    }


def environment(device: str) -> dict[str, Any]:
    return {
        "continual": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        "threads": torch.get_num_threads(),
    }
