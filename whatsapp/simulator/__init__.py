"""A stand-in for WPPConnect Server 2.10.4, for local runs, tests, fault tests and benchmarks.

Deliberately free of Django so it can run as a bare process (``python -m whatsapp.simulator``).
"""

from __future__ import annotations

SERVER_VERSION = "2.10.4"
DEFAULT_SECRET_KEY = "THISISMYSECURETOKEN"
