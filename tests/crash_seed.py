"""The seed of the random numbers that pick crash points (when to kill, whether to save the sidecar).

Random by default, so that run after run the kills land in new places; printed, so that a failure can be
replayed exactly: ``ATLAS_CRASH_SEED=<seed> pytest ...``."""

from __future__ import annotations

import os
import random

ENV = "ATLAS_CRASH_SEED"


def crash_rng(test: str) -> tuple[random.Random, int]:
    """A generator for ``test``'s crash points and its seed (from $ATLAS_CRASH_SEED, else fresh), printed."""
    given = os.environ.get(ENV, "").strip()
    seed = int(given) if given else random.SystemRandom().randrange(2**32)
    print(f"{test}: crash points from seed {seed} (replay with {ENV}={seed})")
    return random.Random(seed), seed
