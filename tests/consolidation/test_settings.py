"""Boundary tests of the consolidation components' settings, added where mutation testing showed
that moving a bound (``>=`` → ``>``, ``1`` → ``2``) or dropping the field name went unnoticed
(docs/mutation-testing.md): each bound accepts its edge value and refuses the next one with a
ConfigError that names the field (so the spec loader can point at the line)."""

import pytest

from continual.consolidation.ewc import EWC
from continual.consolidation.hebbian import HebbianConsolidation
from continual.consolidation.lwf import LwF
from continual.consolidation.si import SynapticIntelligence
from continual.errors import ConfigError

ACCEPTED = [
    (HebbianConsolidation, {"strength": 0.0}),
    (HebbianConsolidation, {"decay": 0.0}),
    (HebbianConsolidation, {"decay": 1.0}),
    (EWC, {"strength": 0.0}),
    (EWC, {"gamma": 0.0}),
    (EWC, {"gamma": 1.0}),
    (EWC, {"fisher_samples": 1}),
    (SynapticIntelligence, {"strength": 0.0}),
    (LwF, {"strength": 0.0}),
]
REFUSED = [
    (HebbianConsolidation, "strength", -1e-9),
    (HebbianConsolidation, "decay", -1e-9),
    (HebbianConsolidation, "decay", 1.0 + 1e-9),
    (EWC, "strength", -1e-9),
    (EWC, "gamma", -1e-9),
    (EWC, "gamma", 1.0 + 1e-9),
    (EWC, "fisher_samples", 0),
    (SynapticIntelligence, "strength", -1e-9),
    (SynapticIntelligence, "damping", 0.0),
    (LwF, "strength", -1e-9),
    (LwF, "temperature", 0.0),
]


@pytest.mark.parametrize(("component", "values"), ACCEPTED)
def test_edge_values_are_accepted(component, values):
    assert isinstance(component(**values), component)  # no ConfigError at the edge itself


@pytest.mark.parametrize(("component", "field", "value"), REFUSED)
def test_values_past_the_edge_are_refused_naming_the_field(component, field, value):
    with pytest.raises(ConfigError, match=rf"^{field}: must be ") as error:
        component(**{field: value})
    assert error.value.field == field
