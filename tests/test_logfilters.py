from __future__ import annotations

import logging
from typing import Any

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


def record(message: str, *args: object, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("x", logging.ERROR, __file__, 1, message, args, exc_info)


def shown(rec: logging.LogRecord) -> str:
    """The line as the console handler prints it, traceback included."""
    RedactSecrets().filter(rec)
    return logging.Formatter("%(message)s").format(rec)


def test_a_webhook_secret_is_hidden_whatever_the_slug_looks_like():
    for path in (
        "/whatsapp/webhooks/my slug/s3cr3tS3cr3tS3cr3t/",  # a slug with a space
        "/whatsapp/webhooks/my%20slug/s3cr3tS3cr3tS3cr3t/",
        "/prefix/whatsapp/webhooks/main/s3cr3tS3cr3tS3cr3t",  # mounted under a prefix
    ):
        line = shown(record("Not Found: %s", path))
        assert "s3cr3tS3cr3tS3cr3t" not in line and "***" in line, line


def test_a_data_error_traceback_loses_the_rows_phone_number_and_text():
    from django.db import DataError

    try:
        raise DataError(
            "value too long\n"
            'DETAIL:  Failing row contains (5521987654321, +55 21 98765-4321, "Olá (Maria)\n'
            'segunda linha").'
        )
    except DataError:
        import sys

        line = shown(record("send failed", exc_info=sys.exc_info()))
    assert "DataError" in line and "Failing row contains (…)" in line
    assert "5521987654321" not in line and "98765-4321" not in line
    assert "Maria" not in line and "segunda linha" not in line


def test_a_violated_keys_values_are_hidden_and_its_columns_kept():
    line = shown(record("DETAIL:  Key (instance_id, recipient)=(3, 5521987654321) already exists."))
    assert line == "DETAIL:  Key (instance_id, recipient)=(…) already exists."


def test_tokens_keys_and_configured_secrets_are_hidden(settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "GATEWAY_SECRET_KEY": "gateway-secret-value-1"}
    line = shown(
        record(
            "headers %s key %s secret %s token %s",
            "Authorization: Bearer $2b$10$abcdefghijklmnopqrstuv",
            "lw_AbCdEfGhIjKlMnOpQrStUv",
            "gateway-secret-value-1",
            '{"secretKey": "abcdef123456"}',
        )
    )
    for secret in ("abcdefghijklmnopqrstuv", "lw_AbCdEf", "gateway-secret-value-1", "abcdef123456"):
        assert secret not in line, line


def test_durations_with_many_decimals_are_not_taken_for_phone_numbers():
    """Celery's own lines ("succeeded in 1.8834851390002s") were masked like a phone number."""
    line = shown(record("Task %s succeeded in %ss: %s", "sweep", 1.8834851390002, {"events": 500}))
    assert line == "Task sweep succeeded in 1.8834851390002s: {'events': 500}"
    assert shown(record("took %s s", 12.125000000001)) == "took 12.125000000001 s"
    # A number written with dots as separators is still a phone number.
    assert "9999" not in shown(record("to %s", "21.99999.9999"))
    assert "999999999" not in shown(record("to %s", "5521999999999"))


def test_webhook_signing_secrets_are_hidden():
    line = shown(record("made %s", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+/="))
    assert line == "made whsec_***"


def test_counts_codes_times_and_ids_stay_readable():
    when, ident = "2030-01-31 14:30:00", "3f2a1b4c-1234-4abc-9def-0a0b0c0d0e0f"
    line = shown(
        record("sent %s of %s in %s ms: HTTP %s at %s id %s", 3, 10, 1234, 201, when, ident)
    )
    assert line == (
        "sent 3 of 10 in 1234 ms: HTTP 201 at 2030-01-31 14:30:00 "
        "id 3f2a1b4c-1234-4abc-9def-0a0b0c0d0e0f"
    )


def test_every_handler_a_record_can_reach_carries_the_filter():
    """After Django configured logging, no logger writes through an unfiltered handler
    (runserver's access log had a handler of its own)."""
    from whatsapp.logfilter import RedactSecrets as Filter

    loggers = [logging.getLogger(), *(
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    )]  # fmt: skip
    unfiltered = [
        (logger.name, type(handler).__name__)
        for logger in loggers
        if not logger.disabled
        for handler in logger.handlers
        if not any(isinstance(f, Filter) for f in handler.filters)
        and not isinstance(handler, logging.NullHandler)  # writes nothing
        and not type(handler).__module__.startswith("_pytest")  # the test runner's own
    ]
    assert not unfiltered, unfiltered


def test_gunicorns_access_log_hides_the_webhook_secret(tmp_path):
    from types import SimpleNamespace

    from gunicorn.config import Config

    from leguas.gunicorn import RedactingLogger

    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = RedactingLogger(config)
    response = SimpleNamespace(status="200 OK", response_length=11, sent=11, headers=[])
    request = SimpleNamespace(headers=[], method="POST", path="/", query="", version=(1, 1))
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/whatsapp/webhooks/main/s3cr3tS3cr3tS3cr3t/",
        "PATH_INFO": "/whatsapp/webhooks/main/s3cr3tS3cr3tS3cr3t/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.9",
    }
    from datetime import timedelta

    logger.access(response, request, environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    assert "/whatsapp/webhooks/main/***/" in written
    assert "s3cr3tS3cr3tS3cr3t" not in written
