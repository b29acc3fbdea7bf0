"""Reports render result documents; they never recompute training."""
