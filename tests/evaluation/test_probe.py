"""The representation probe (Davari et al. 2022): its rows against an independent scikit-learn
LDA on the same features, its place in a run (absent by default, never disturbing training),
and its bad inputs."""

import numpy as np
import pytest
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from continual import runner, specs
from continual.errors import ContinualError
from continual.evaluation.evaluator import Evaluator
from continual.evaluation.probe import RepresentationProbe
from continual.learners.backprop import Backprop
from tests.conftest import SYNTHETIC_SCENARIO, write
from tests.readouts.test_slda import ShrunkTowardsIdentity

STRATEGY = """
[learner]
name = "backprop"
hidden = [12]
lr = 0.01
[training]
epochs = 2
batch_size = 32
"""


def test_probe_row_equals_an_independent_sklearn_lda_on_the_same_features(tmp_path):
    stream = runner.build_stream(
        specs.load_scenario(str(write(tmp_path, "s.toml", SYNTHETIC_SCENARIO))), 0
    )
    torch.manual_seed(0)
    learner = Backprop(stream.input_dim, stream.num_classes, hidden=(8,))
    seen = [stream[0], stream[1]]  # after two of three experiences: four classes seen
    row = RepresentationProbe("slda", Evaluator(stream)).accuracy(learner, seen)

    with torch.no_grad():
        train = torch.cat([learner.features(e.x_train) for e in seen]).double().numpy()
        labels = torch.cat([e.y_train for e in seen]).numpy()
        lda = LinearDiscriminantAnalysis(
            solver="lsqr", covariance_estimator=ShrunkTowardsIdentity(1e-4)
        ).fit(train, labels)
        expected = []
        for experience in stream:
            test = learner.features(experience.x_test).double().numpy()
            scores = lda.decision_function(test) - np.log(lda.priors_)  # SLDA: equal priors
            predicted = lda.classes_[scores.argmax(1)]
            expected.append(float((predicted == experience.y_test.numpy()).mean()))
    assert row == pytest.approx(expected, abs=1e-12)
    assert row[2] == 0.0 and min(row[:2]) > 0.5  # unseen classes cannot be predicted


def _run(tmp_path, extra: str = "") -> dict:
    scenario = specs.load_scenario(str(write(tmp_path, "s.toml", SYNTHETIC_SCENARIO)))
    strategy = specs.load_strategy(str(write(tmp_path, "t.toml", STRATEGY + extra)))
    return runner.run(scenario, strategy, seed=3)


def test_absent_probe_leaves_the_result_and_its_id_unchanged(tmp_path):
    plain = _run(tmp_path)
    empty = _run(tmp_path, "[evaluation]\n")  # an empty table is the default, too
    probed = _run(tmp_path, '[evaluation]\nprobe = "slda"\n')
    assert "probe" not in plain and "evaluation" not in plain["strategy"]
    assert plain["run_id"] == empty["run_id"] != probed["run_id"]
    assert set(plain["metrics"]) == {
        "average_accuracy",
        "learning_accuracy",
        "forgetting",
        "forgetting_since_learned",
        "backward_transfer",
        "forward_transfer",
    }
    # the probe only reads the learner: training, the matrix and the curves are the same
    assert probed["accuracy_matrix"] == plain["accuracy_matrix"]
    assert probed["curves"]["accuracy"] == plain["curves"]["accuracy"]
    matrix = probed["probe"]["matrix"]
    assert probed["probe"]["kind"] == "slda" and np.shape(matrix) == (4, 3)
    assert matrix[1][1:] == [0.0, 0.0] and matrix[2][2] == 0.0  # classes not yet seen
    assert probed["metrics"]["probe_accuracy"] == pytest.approx(np.mean(matrix[-1]))
    assert probed["metrics"]["probe_untrained_accuracy"] == pytest.approx(np.mean(matrix[0]))


def test_bad_probe_settings_are_one_clear_error(tmp_path):
    with pytest.raises(ContinualError, match="'lda' is not one of 'slda', 'ncm'.*did you mean"):
        specs.load_strategy(
            str(write(tmp_path, "t.toml", STRATEGY + '[evaluation]\nprobe = "lda"\n'))
        )
    strategy = specs.load_strategy(
        str(write(tmp_path, "u.toml", STRATEGY + '[evaluation]\nprobe = "ncm"\n'))
    )
    with pytest.raises(ContinualError, match="needs experience boundaries"):
        runner.run(specs.load_scenario("task-free-digits"), strategy, seed=0)


def test_a_run_with_a_probe_resumes_to_the_same_probe_matrix(tmp_path):
    from continual.checkpoint import Checkpointing
    from tests.test_checkpoint import Interrupted

    scenario = specs.load_scenario(str(write(tmp_path, "s.toml", SYNTHETIC_SCENARIO)))
    text = STRATEGY.replace("batch_size = 32", "batch_size = 16") + '[evaluation]\nprobe = "ncm"\n'
    strategy = specs.load_strategy(str(write(tmp_path, "t.toml", text)))
    reference = runner.run(scenario, strategy, seed=1)
    every, steps = Checkpointing(tmp_path / "run.pt", every=3), [0]

    def die_at_step_41(n: int) -> None:  # past two experience boundaries, before the third
        steps[0] += n
        if steps[0] == 41:
            raise Interrupted

    with pytest.raises(Interrupted):
        runner.run(scenario, strategy, seed=1, progress=die_at_step_41, checkpoint=every)
    assert len(torch.load(every.path, weights_only=True)["probe"]["matrix"]) == 3
    resumed = runner.run(scenario, strategy, seed=1, checkpoint=Checkpointing(every.path, 3, True))
    assert resumed["probe"] == reference["probe"] and len(reference["probe"]["matrix"]) == 4
    assert resumed["metrics"] == reference["metrics"]
