"""Runs written by tensorboard's own SummaryWriter, for the fleet tests."""

from __future__ import annotations

import math
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (replaced below when torch is absent)
