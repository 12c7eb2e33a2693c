"""Test-wide settings: property tests explore new examples on a developer's machine, and replay
the same examples in CI (``HYPOTHESIS_PROFILE=ci``, set by ``.ci/run``), so a landing depends on
the code rather than on which examples a run happened to draw."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
