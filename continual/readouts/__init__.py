"""Class-statistics readouts: classifiers on a learner's features that keep running class
statistics instead of trained weights (nearest class mean, streaming LDA, a Hebbian readout).
They need no stored samples and, their statistics being running sums, cannot forget."""
