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
from typing import Any, TypeVar

import numpy as np
import torch

from continual import __version__, registry
from continual import checkpoint as checkpoints
from continual.checkpoint import Checkpointing, Position
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


def run(
    scenario: ScenarioSpec,
    strategy_spec: StrategySpec,
    seed: int,
    device: str = "cpu",
    progress: Progress | None = None,
    data_dir: str | None = None,
    cache: dict[Any, Any] | None = None,
    checkpoint: Checkpointing | None = None,
) -> dict[str, Any]:
    """Train ``strategy_spec`` on ``scenario`` with ``seed``; return the result document.

    Sequential runs train experience by experience and take a matrix row after each; joint runs
    train once on everything; on a task-free stream every sample is seen once in the stream's
    order (one pass, no shuffling, no boundaries) and a row is taken when each underlying task
    stops appearing. A ``cache`` shared by the runs of one command keeps the stream per
    (scenario, seed) and the untrained reference evaluation per (scenario, seed, learner);
    results are the same with or without it. The cost is probed once, at the end of the run
    (:func:`continual.evaluation.cost.run_cost`). With ``checkpoint``, the run's state is saved
    at every experience boundary (and every ``checkpoint.every`` steps), and with
    ``checkpoint.resume`` a run killed earlier continues from its checkpoint to the same result.
    """
    reset_memory_peak(device)
    torch.manual_seed(seed)
    described = scenario_to_dict(scenario)
    data = stream_key(scenario, seed, data_dir, described)
    stream = cached(cache, data, lambda: build_stream(scenario, seed, data_dir))
    started = time.perf_counter()  # loading the data is not the run's time (prepare() does it)
    strategy = build_strategy(strategy_spec, stream, seed, device)
    learner = strategy.learner
    evaluator = cached(cache, ("evaluator", *data, device), lambda: Evaluator(stream, device))
    architecture = (*data, device, _key(strategy_spec.learner.values))
    if strategy_spec.readout is not None:  # what a prediction goes through
        architecture += (_key(strategy_spec.readout.values),)

    def reference() -> list[float]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1_000_003)
            return evaluator(build_learner(strategy_spec, stream).to(device))

    baseline = cached(cache, ("baseline", *architecture), reference)

    plan, row_steps = training_plan(strategy_spec, stream, strategy)
    plan = [e.to(device) for e in plan]
    per_experience = min(strategy.steps_per_experience(e.train_size) for e in plan)
    samples = strategy_spec.training.anytime_samples
    anytime = evaluator.stratified(samples, seed) if samples else None
    every = strategy_spec.training.eval_every or anytime_period(
        per_experience,
        10 * len(stream) if stream.online is not None else 10,
        len((anytime or evaluator).y),
        strategy.batch_size,
    )
    recorder = Recorder(evaluator, learner, every, row_steps, progress, anytime)
    probe = representation_probe(strategy_spec, stream, evaluator)
    config = {"scenario": described, "strategy": strategy_spec.to_dict()}
    identity = run_id(config, seed)

    resuming = checkpoint is not None and checkpoint.resume
    state = checkpoints.load(checkpoint.path, identity) if resuming else None
    position, elapsed = Position(), 0.0
    if state is None:
        recorder.start()
        if probe is not None:  # row 0: the untrained features, fitted on every experience
            probe.row(learner, plan)
    else:
        position, elapsed = checkpoints.restore(
            state, strategy, recorder, len(plan), checkpoint.path
        )
        if probe is not None:  # the run id names the probe: its checkpoints carry its state
            probe.load_state_dict(state["probe"])
        if progress is not None:
            progress(strategy.step)

    def save(at: Position) -> None:
        if checkpoint is not None:
            spent = elapsed + time.perf_counter() - started
            captured = checkpoints.capture(identity, at, strategy, recorder, spent)
            if probe is not None:
                captured["probe"] = probe.state_dict()
            checkpoints.save(checkpoint.path, captured)

    diverged = None
    try:
        for number in range(position.experience, len(plan)):

            def on_step(step: int, number: int = number) -> None:
                recorder.on_step(step)
                if checkpoint is not None and checkpoint.every and step % checkpoint.every == 0:
                    save(Position(number, started=True))

            resume = number == position.experience and position.started
            strategy.train_experience(plan[number], on_step, resume=resume)
            if not row_steps:
                recorder.end_experience(strategy.step)
            if probe is not None:
                probe.row(learner, plan[: number + 1])
            save(Position(number + 1))
    except Diverged as error:  # keep what was measured; the caller writes it as partial
        diverged = error

    matrix = recorder.matrix
    joint = strategy_spec.training.mode == "joint" and stream.online is None
    if diverged is not None:  # metrics need every row; the rows measured are kept
        scores = {}
    elif joint:  # one training phase: only ACC is defined
        scores = metrics.final_only(matrix[-1])
    else:
        scores = metrics.all_metrics(matrix, baseline)
        if probe is not None:
            scores.update(metrics.probe_metrics(probe.matrix))
    timings = dict(strategy.timings)
    timings["eval"] = recorder.seconds
    accounting = time.perf_counter()
    cost = run_cost(
        learner,
        strategy.components,
        plan[-1],
        train_steps=strategy.step,
        train_samples=strategy.samples_seen,
        experiences=len(plan),
        predictions=recorder.predictions + len(evaluator.y),  # + the untrained baseline
        device=device,
        # FLOPs per sample: once per architecture and input shape in a command
        per_sample=cached(
            cache, ("flops", *architecture), lambda: learner_flops(learner, plan[-1])
        ),
    )
    timings["cost_accounting"] = time.perf_counter() - accounting
    attacks, attacked = strategy_spec.evaluation.robustness, time.perf_counter()
    robust = robustness(evaluator, learner, attacks.noise, attacks.fgsm)
    timings["robustness"] = time.perf_counter() - attacked
    timings["total"] = elapsed + time.perf_counter() - started
    document = {
        "schema_version": SCHEMA_VERSION,
        "run_id": identity,
        "status": "complete" if diverged is None else "diverged",
        **config,
        "seed": seed,
        "stream": describe(stream),
        "environment": environment(device),
        "accuracy_matrix": matrix,
        "random_baseline": baseline,
        "metrics": scores,
        "curves": recorder.curves,
        "components": {c.name: c.summary() for c in strategy.components},
        "cost": cost,
        "robustness": robust,
        "timings": timings,
        "memory": memory_peaks(device),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if probe is not None:  # absent without [evaluation] probe: earlier results unchanged
        document["probe"] = {"kind": strategy_spec.evaluation.probe, "matrix": probe.matrix}
    if diverged is not None:
        document["divergence"] = {
            "experience": diverged.experience,
            "step": diverged.step,
            "message": str(diverged),
        }
        error = Diverged(
            divergence_message(strategy_spec.name, seed, str(diverged)),
            diverged.experience,
            diverged.step,
        )
        error.result = document
        raise error
    return document


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
