"""Constants several detectors share: one home each, with the reason for its value.

How the detectors' confidences are built (read this before changing one): every formula is
``base + weight x (how far the evidence goes past the detector's threshold)``, clipped to
``[0, cap]``.

- ``base`` (0.5-0.6) is the confidence of a case that only just meets every threshold: the
  rule holds, but a little less noise or a slightly different window would undo it.
- ``weight`` turns the margin into confidence so that a margin as large as the threshold
  itself (a bounce twice the minimum, a rise of 30% where 10% is needed, ...) reaches the
  cap; the weights differ because the margins are in different units (shares of L0, shares
  of progress, counts of events).
- ``cap`` stays below 1 (0.9-0.99) because the analysis reads one run's logs, never its
  code, data or twin: a plateau (0.9) could be a data limit, a decay (0.97) could have been
  planned, an overfit (0.99) with a rising validation loss and a falling training loss is
  about as certain as a log allows.
- Without the LR curve a finding that names the LR as the cause is multiplied by
  ``NO_LR_CONFIDENCE``: the symptom is seen, its cause only inferred.
"""

from __future__ import annotations

# Too few points to say anything about a curve's shape: rolling medians of 3, a robust
# trend and two level windows need at least this many.
MIN_CURVE_POINTS = 8
# A power-law loss forecast has four parameters: three points per parameter for a fit that
# the noise does not decide.
MIN_FIT_POINTS = 12
# "Never learned" and an LR range test both need a curve long enough that its first few
# steps (a warmup, one unlucky batch) cannot decide the verdict.
MIN_STUCK_POINTS = 20
MIN_RANGE_TEST_POINTS = 20
# Loss levels are medians over windows of this share of the run: 4% of a 500-step run is
# 20 minibatches (enough to average their noise), narrow enough to date a change.
LEVEL_WINDOW = 0.04
# Confidence factor when the LR curve was not logged (see the module docstring).
NO_LR_CONFIDENCE = 0.8
