import torch
from torch import Tensor

from continual.evaluation.evaluator import Evaluator
from continual.evaluation.recorder import Recorder
from continual.learners.base import Learner
from continual.scenarios.experience import Experience, Stream


class Fixed(Learner):
    """Predicts class x[:, 0] (so accuracy is whatever the test set says)."""

    def __init__(self) -> None:
        super().__init__(1, 4)
        self.calls: list[int] = []

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        self.calls.append(len(x))
        return torch.nn.functional.one_hot(x[:, 0].long(), 4).float()


def _stream() -> Stream:
    def experience(index: int, classes: tuple[int, int], guess: list[int]) -> Experience:
        y = torch.tensor([classes[0]] * 6 + [classes[1]] * 4)
        x = torch.tensor(guess, dtype=torch.float32)[:, None]
        return Experience(index, classes, x[:2], y[:2], x, y)

    # experience 0: class 0 always right, class 1 right on 2 of 4; experience 1: all wrong
    first = experience(0, (0, 1), [0] * 6 + [1, 1, 0, 0])
    second = experience(1, (2, 3), [0] * 10)
    return Stream("toy", (first, second), 4, (1,))


def test_accuracy_per_experience_by_hand():
    assert Evaluator(_stream())(Fixed()) == [0.8, 0.0]


def test_stratified_subset_is_class_balanced_fixed_and_seeded():
    evaluator = Evaluator(_stream())
    subset = evaluator.stratified(4, seed=3)
    assert subset.sizes.tolist() == [4.0, 4.0]
    for i, classes in enumerate(((0, 1), (2, 3))):
        labels = subset.y[subset.owner == i]
        assert [int((labels == c).sum()) for c in classes] == [2, 2]
    again = evaluator.stratified(4, seed=3)
    assert torch.equal(subset.x, again.x) and torch.equal(subset.y, again.y)
    assert evaluator.stratified(100).sizes.tolist() == [10.0, 10.0]  # capped at the full set
    accuracy = subset(Fixed())
    assert accuracy[1] == 0.0 and accuracy[0] in (0.5, 0.75, 1.0)


def test_recorder_rows_use_full_sets_and_anytime_points_the_subset():
    evaluator = Evaluator(_stream())
    learner = Fixed()
    recorder = Recorder(evaluator, learner, every=2, anytime=evaluator.stratified(2))
    recorder.start()
    for step in (1, 2, 3, 4):
        recorder.on_step(step)
    recorder.end_experience(4)
    assert learner.calls == [20, 4, 4, 20]  # row 0, anytime at 2 and 4, the row at 4 replaces it
    curves = recorder.curves
    assert curves["step"] == [0, 2, 4] and curves["experience_end_steps"] == [4]
    assert curves["accuracy"][0] == curves["accuracy"][2] == [0.8, 0.0]
    assert recorder.matrix == [[0.8, 0.0], [0.8, 0.0]]
    assert curves["anytime_test_samples"] == [2, 2]
