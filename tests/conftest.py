"""Suite-wide settings."""

import os

from hypothesis import settings

# CI must not fail on an example no earlier run tried: there the property tests replay the same examples every
# run. Locally they keep exploring new ones, which is how they find bugs.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
