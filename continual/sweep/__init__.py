"""Sweeps: a grid (:mod:`continual.sweep.grid`) expands into cells with deterministic ids, a
backend runs them (:mod:`continual.sweep.local`: a process pool; :mod:`continual.sweep.ray_backend`:
Ray, on this machine or an existing cluster) and the one driver, :func:`continual.execution.drive`,
skips finished cells, retries failed ones a bounded number of times and writes every result
file."""
