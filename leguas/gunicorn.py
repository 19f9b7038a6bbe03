"""gunicorn's logger with the app's redaction filter on its access and error logs.

`gunicorn --logger-class leguas.gunicorn.RedactingLogger`: an access log line of a webhook call
(`POST /whatsapp/webhooks/<slug>/<secret>/`) then shows `***` for the secret, as every other
log line does (whatsapp/logfilter.py).
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from whatsapp.logfilter import RedactSecrets


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            for handler in log.handlers:
                handler.addFilter(RedactSecrets())
