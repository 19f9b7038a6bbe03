"""leguas-whatsapp: a reusable Django app that sends WhatsApp messages through WPPConnect Server.

Add it to a project as docs/embedding.md says; application code uses `whatsapp.api`.
"""

# The one version number: the package metadata (pyproject.toml) reads it from here.
__version__ = "0.1.0"
