"""A tiny sweep: the synthetic scenario and two small MLP strategies, fast enough to run many."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SYNTHETIC_SCENARIO, write

MLP = """
[learner]
name = "backprop"
hidden = [32]
lr = 0.01
[training]
epochs = 10
batch_size = 32
"""

MLP_EWC = (
    MLP
    + """
[[components]]
name = "ewc"
fisher_samples = 30
"""
)


def tiny_grid(
    folder: Path, parameters: str = '"learner.lr" = [0.003, 0.01]', seeds="[0, 1]"
) -> Path:
    """Two strategies × the parameters × the seeds on the synthetic scenario."""
    write(folder, "tiny.toml", SYNTHETIC_SCENARIO)
    write(folder, "mlp.toml", MLP)
    write(folder, "mlp-ewc.toml", MLP_EWC)
    return write(
        folder,
        "grid.toml",
        f"""
        description = "tiny"
        scenarios = ["tiny.toml"]
        strategies = ["mlp.toml", "mlp-ewc.toml"]
        seeds = {seeds}
        [parameters]
        {parameters}
        """,
    )
