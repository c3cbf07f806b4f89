import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "pfs",
    max_examples=int(os.environ.get("PFS_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("pfs")
