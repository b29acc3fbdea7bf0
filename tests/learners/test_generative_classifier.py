"""The generative classifier: each class's VAE learns only from its own class, scores are the
importance-sampled log-likelihoods of the trained classes, predictions are deterministic and
leave the global random stream alone, checkpoints round-trip, and it learns class-incremental
digits far above finetune's ~20 % without storing or replaying anything."""

import io

import torch

from continual.evaluation.evaluator import Evaluator
from continual.learners.generative_classifier import GenerativeClassifier
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy

STREAM = class_incremental(digits(), seed=0, experiences=5)


def _learner(**options) -> GenerativeClassifier:
    torch.manual_seed(0)
    return GenerativeClassifier(STREAM.input_dim, 10, **{"importance_samples": 20, **options})


def test_a_batch_updates_only_the_models_of_its_classes():
    learner = _learner()
    x, y, _ = STREAM[0].batch(torch.arange(40))
    learner.zero_update()
    learner.local_update(x, y, None)
    present = set(y.tolist())
    for c, model in enumerate(learner.models):
        grads = [p.grad for p in model.parameters()]
        if c in present:
            assert all(g is not None and bool(g.abs().sum() > 0) for g in grads), c
        else:
            assert all(g is None for g in grads), c
    assert learner.trained_classes.nonzero().flatten().tolist() == sorted(present)


def test_only_trained_classes_are_scored_and_scores_are_the_models_likelihoods():
    learner = _learner()
    x, y, _ = STREAM[0].training_data()
    learner.observe(x, y)
    scores = learner.predict(x[:5])
    trained = sorted(set(y.tolist()))
    assert bool(torch.isinf(scores[:, [c for c in range(10) if c not in trained]]).all())
    for c in trained:
        g = torch.Generator().manual_seed(0)
        expected = learner.models[c].log_likelihood(x[:5].flatten(1), 20, g)
        torch.testing.assert_close(scores[:, c], expected)


def test_predictions_are_deterministic_and_leave_the_global_random_stream_alone():
    learner = _learner()
    x, y, _ = STREAM[0].training_data()
    learner.observe(x, y)
    state = torch.get_rng_state()
    first = learner.predict(x[:10])
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(learner.predict(x[:10]), first)


def test_more_importance_samples_give_higher_likelihoods_on_average():
    learner = _learner(hidden=(32,), latent=4)
    strategy = Strategy(learner, steps=100, batch_size=64)
    strategy.train_experience(STREAM[0])
    x = STREAM[0].x_test.flatten(1)
    c = STREAM[0].classes[0]
    low = learner.models[c].log_likelihood(x, 1, torch.Generator().manual_seed(0))
    high = learner.models[c].log_likelihood(x, 500, torch.Generator().manual_seed(0))
    assert float(high.mean()) > float(low.mean())  # the bound tightens as S grows


def test_state_dict_round_trip_keeps_models_classes_and_optimizer():
    learner = _learner()
    x, y, _ = STREAM[0].training_data()
    learner.observe(x, y)
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    other = _learner(evaluation_seed=0)
    torch.manual_seed(7)
    other.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(other.trained_classes, learner.trained_classes)
    assert torch.equal(other.predict(x[:8]), learner.predict(x[:8]))
    torch.manual_seed(1)
    learner.observe(x, y)
    torch.manual_seed(1)
    other.observe(x, y)  # the same Adam moments: the same step
    for a, b in zip(learner.parameters(), other.parameters()):
        assert torch.equal(a, b)


def test_learns_class_incremental_digits_without_forgetting():
    learner = _learner(importance_samples=10)
    strategy = Strategy(learner, steps=150, batch_size=128)
    for experience in STREAM:
        strategy.train_experience(experience)
    accuracy = Evaluator(STREAM)(learner)
    assert sum(accuracy) / len(accuracy) > 0.8, accuracy  # finetune: ~0.2
    assert min(accuracy) > 0.6, accuracy  # the first experience too
