"""What every learner tells sleep and Hebbian consolidation about its network, tested where mutation
testing found nothing checked it (docs/mutation-testing.md): the post-synaptic activity of each
linear layer (the neuron's output after its nonlinearity), the chain sleep runs and its input, and
the exact account of what the spiking conversion leaves out. Also the task mask after a
checkpoint load."""

import pytest
import torch
import torch.nn.functional as F

from continual.errors import ContinualError
from continual.learners.abilities import Sleepable
from continual.learners.backprop import Backprop
from continual.learners.base import Learner
from continual.learners.forward_forward import ForwardForward
from continual.learners.hebbian import Hebbian
from continual.learners.predictive_coding import PredictiveCoding
from continual.sleep.spiking import SpikingSleep
from continual.strategy import Strategy

OUTPUT = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 0.0, 2.0], [0.0, 0.0, 9.0], [3.0, 1.0, -1.0]])


def test_backprop_post_activity_is_the_activation_that_follows_and_softmax_at_the_output():
    learner = Backprop(4, 3, hidden=(3, 3), activation="tanh")
    for hidden in ("net.0", "net.2"):
        torch.testing.assert_close(learner.post_activity(hidden, OUTPUT), torch.tanh(OUTPUT))
    probabilities = learner.post_activity("net.4", OUTPUT)  # 4 samples, 3 classes
    torch.testing.assert_close(probabilities, torch.softmax(OUTPUT, dim=1))
    torch.testing.assert_close(probabilities.sum(1), torch.ones(4))


def test_predictive_coding_post_activity_is_phi_of_hidden_nodes_and_linear_output():
    learner = PredictiveCoding(4, 3, hidden=(3, 3), activation="sigmoid")
    for hidden in ("layers.0", "layers.1"):
        torch.testing.assert_close(
            learner.post_activity(hidden, OUTPUT), torch.sigmoid(OUTPUT).abs()
        )
    torch.testing.assert_close(learner.post_activity("layers.2", OUTPUT), OUTPUT.abs())


def test_sleep_chains_are_the_linear_layers_in_order():
    pc = PredictiveCoding(4, 3, hidden=(5,))
    assert pc.sleep_layers() == [pc.layers[0], pc.layers[1]]
    ff = ForwardForward(4, 3, hidden=(5, 6))
    assert ff.sleep_layers() == [ff.layers[0], ff.layers[1]]
    assert isinstance(ff, Sleepable) and not isinstance(Learner(4, 3), Sleepable)
    with pytest.raises(ContinualError, match="sleep needs .* Sleepable .* feed-forward chain"):
        Strategy(Learner(4, 3), [SpikingSleep()])


def test_forward_forward_sleeps_on_the_image_with_a_neutral_label():
    ff = ForwardForward(4, 4, hidden=(5,), label_scale=2.0)
    x = torch.rand(3, 4)
    expected = torch.cat([x, torch.full((3, 4), 0.25 * 2.0)], dim=1)
    torch.testing.assert_close(ff.sleep_input(x), expected)


@pytest.mark.parametrize(
    ("learner", "ignored"),
    [
        (Backprop(4, 3, hidden=(3,)), "the biases"),
        (Backprop(4, 3, hidden=(3,), bias=False), None),
        (
            Backprop(4, 3, hidden=(3,), activation="gelu"),
            "the biases, the gelu activation (run as ReLU)",
        ),
        (
            Backprop(4, 3, hidden=(3,), activation="tanh", bias=False),
            "the tanh activation (run as ReLU)",
        ),
        (PredictiveCoding(4, 3, hidden=(3,), activation="relu"), "the biases"),
        (
            PredictiveCoding(4, 3, hidden=(3,)),
            "the biases, the non-ReLU activation (run as ReLU)",
        ),
        (
            Hebbian(4, 3, hidden=(3,)),
            "the input centring, the L2 normalisation of each layer's input, the feature power 3 "
            "and its normalisation, and the readout bias",
        ),
        (
            Hebbian(4, 3, hidden=(3,), center=False, feature_power=1.5),
            "the L2 normalisation of each layer's input, the feature power 1.5 and its "
            "normalisation, and the readout bias",
        ),
        (
            ForwardForward(4, 3, hidden=(3,)),
            "the biases, the RMS normalisation between layers and the linear readout; it drives "
            "the image with a neutral label code",
        ),
    ],
)
def test_sleep_conversion_names_exactly_what_the_spiking_chain_leaves_out(learner, ignored):
    assert learner.sleep_conversion() == ignored


def test_the_task_mask_is_rebuilt_after_a_checkpoint_load():
    learner = Backprop(4, 4, hidden=(3,))
    learner.add_task(0, [0, 1])
    scores = torch.zeros(2, 4)
    learner.restrict(scores, torch.tensor([0, 0]))  # builds the mask for one task
    state = learner.state_dict()
    state["_extra_state"]["task_classes"] = {0: [0, 1], 1: [2, 3]}
    learner.load_state_dict(state)
    restricted = learner.restrict(scores, torch.tensor([0, 1]))
    assert torch.isinf(restricted).tolist() == [
        [False, False, True, True],
        [True, True, False, False],
    ]


def test_predictive_coding_without_hidden_layers_predicts_from_the_raw_input():
    # one layer: the free output nodes follow μ = W x_0 + b (no φ on the clamped input)
    torch.manual_seed(0)
    learner = PredictiveCoding(3, 3, hidden=(), activation="tanh", output_clamp="batch")
    x = torch.randn(4, 3) * 3
    learner.zero_update()
    learner.local_update(x, torch.tensor([0, 0, 1, 1]), None)
    errors = learner.last_errors[-1]
    assert torch.equal(errors[:, 2], torch.zeros(4))  # class 2 is absent: free, zero error
    onehot = F.one_hot(torch.tensor([0, 0, 1, 1]), 3).float()
    torch.testing.assert_close(errors[:, :2], (onehot - learner.layers[0](x))[:, :2])


def test_observe_trains_with_the_task_labels_in_train_mode():
    torch.manual_seed(0)
    learner = Backprop(4, 4, hidden=(3,), optimizer="sgd", lr=1.0)
    learner.add_task(0, [0, 1])
    learner.add_task(1, [2, 3])
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 2])
    task = (y >= 2).long()
    reference = Backprop(4, 4, hidden=(3,), optimizer="sgd", lr=1.0)
    reference.load_state_dict(learner.state_dict())
    F.cross_entropy(reference.restrict(reference.predict(x), task), y).backward()
    expected = [p.detach() - p.grad for p in reference.parameters()]
    learner.eval()
    learner.observe(x, y, task)
    assert learner.training
    for p, e in zip(learner.parameters(), expected):
        torch.testing.assert_close(p.detach(), e)
