from __future__ import annotations

import logging

from leguas.logfilters import RedactSecrets


def test_webhook_secrets_are_redacted_from_log_lines():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("POST /whatsapp/webhooks/main/s3cr3tS3cr3t/ HTTP/1.1", 200, 11),
        None,
    )
    assert RedactSecrets().filter(record) is True
    assert record.getMessage() == '"POST /whatsapp/webhooks/main/***/ HTTP/1.1" 200 11'


def test_other_lines_are_left_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", ("ok",), None)
    RedactSecrets().filter(record)
    assert record.msg == "sent %s" and record.args == ("ok",)


def test_the_console_handler_carries_the_filter():
    from django.conf import settings

    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
