"""Streams of experiences: data sources (where the arrays come from) and generators (how a
labelled dataset is cut into experiences). A generator never knows where the data came from."""

from continual.scenarios.experience import Experience, LabelledData, Stream

__all__ = ["Experience", "LabelledData", "Stream"]
