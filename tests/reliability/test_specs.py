"""Spec files that are not specs: wrong encoding, deep nesting, huge files, contradictions."""

from __future__ import annotations

import pytest

from continual import specs
from continual.errors import ContinualError
from tests.conftest import write

LEARNER = '[learner]\nname = "backprop"\nhidden = [8]\n'


def _strategy(tmp_path, data: bytes):
    path = tmp_path / "s.toml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe[learner]\n", "not UTF-8"),
        (b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested more than"),
        (b"a = " + b"{ b = " * 40 + b"1" + b" }" * 40 + b"\n", "nested more than"),
        (b"# " + b"x" * (2 << 20) + b"\n", "too large"),
        (b"[learner\n", "malformed TOML"),
    ],
    ids=["latin-1", "deep-arrays", "deep-tables", "huge", "malformed"],
)
def test_unreadable_specs_end_in_one_clear_error(tmp_path, data, message):
    with pytest.raises(specs.SpecError, match=message):
        specs.load_strategy(str(_strategy(tmp_path, data)))


def test_duplicated_components_are_refused(tmp_path):
    text = LEARNER + '[[components]]\nname = "ewc"\n[[components]]\nname = "ewc"\n'
    with pytest.raises(specs.SpecError, match="'ewc' appears twice"):
        specs.load_strategy(str(write(tmp_path, "s.toml", text)))
    with pytest.raises(specs.SpecError, match="appears twice"):
        specs.load_strategy("backprop+ewc+replay+ewc")


def test_class_groups_must_agree_with_experiences(tmp_path):
    text = (
        '[dataset]\nname = "digits"\n[generator]\nname = "class-incremental"\n'
        "experiences = 5\nclass_groups = [[0, 1], [2, 3]]\n"
    )
    with pytest.raises(specs.SpecError, match="5 experiences but 2 class_groups"):
        specs.load_scenario(str(write(tmp_path, "sc.toml", text)))


@pytest.mark.parametrize(
    ("generator", "message"),
    [
        ("classes_per_experience = 0", "classes_per_experience: must be at least 1"),
        ("experiences = 1000000", "experiences: must be at most 1000"),
    ],
)
def test_scenario_ranges(tmp_path, generator, message):
    text = f'[dataset]\nname = "digits"\n[generator]\nname = "class-incremental"\n{generator}\n'
    with pytest.raises(specs.SpecError, match=message):
        specs.load_scenario(str(write(tmp_path, "sc.toml", text)))


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("input_scale = nan", "input_scale"),
        ("sigmoid_scale = inf", "sigmoid_scale"),
        ("dt = -1.0", "dt"),
        ("init_scale = -inf", "unknown"),
    ],
)
def test_sleep_fields_are_checked_with_file_and_line(tmp_path, component, field):
    text = LEARNER + f'[[components]]\nname = "sleep"\n{component}\n'
    path = write(tmp_path, "s.toml", text)
    with pytest.raises(specs.SpecError, match=field) as error:
        specs.load_strategy(str(path))
    assert f"{path}:" in str(error.value)


def test_unbounded_training_is_refused(tmp_path):
    for training in (f"epochs = {2**63 - 1}", "steps = 1e23", "steps = 10000000000000"):
        path = write(tmp_path, "s.toml", LEARNER + f"[training]\n{training}\n")
        with pytest.raises(ContinualError):
            specs.load_strategy(str(path))


@pytest.mark.parametrize(
    ("readout", "message"),
    [
        ('name = "sdla"', "unknown readout 'sdla' \\(did you mean 'slda'"),
        ('name = "slda"\nshrinkge = 0.1', "unknown field 'shrinkge' \\(did you mean 'shrinkage'"),
        ('name = "slda"\nshrinkage = 0.0', "shrinkage: must be"),
        ('name = "slda"\nshrinkage = "big"', "expected float"),
        ('name = "ncm"\nfeatures = "frozen"', "'frozen' is not one of 'trained', 'untrained'"),
        ('name = "trained"\nshrinkage = 0.1', "own readout takes no option 'shrinkage'"),
        ('features = "untrained"', "needs a name, one of: trained, ncm, slda, hebbian"),
        ('name = "hebbian"\nsettle_steps = 0', "settle_steps: must be"),
    ],
)
def test_a_bad_readout_section_is_one_located_error(tmp_path, readout, message):
    text = LEARNER + "[readout]\n" + readout + "\n"
    with pytest.raises(specs.SpecError, match=message) as error:
        specs.load_strategy(str(write(tmp_path, "s.toml", text)))
    assert "s.toml:" in str(error.value) and "[readout]" in str(error.value)


def test_a_readout_section_is_recorded_and_an_absent_one_is_not(tmp_path):
    absent = specs.load_strategy(str(write(tmp_path, "a.toml", LEARNER)))
    assert absent.readout is None and "readout" not in absent.to_dict()  # run ids unchanged
    text = LEARNER + '[readout]\nname = "slda"\nshrinkage = 0.01\nfeatures = "untrained"\n'
    present = specs.load_strategy(str(write(tmp_path, "p.toml", text)))
    assert present.to_dict()["readout"] == {
        "name": "slda",
        "shrinkage": 0.01,
        "features": "untrained",
    }
