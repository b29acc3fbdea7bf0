"""Learners: how weights change. One file per learning rule; all share the update seam in
:mod:`continual.learners.base`."""

from continual.learners.base import Learner

__all__ = ["Learner"]
