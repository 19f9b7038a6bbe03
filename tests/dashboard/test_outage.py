"""A gateway outage explained: each reason named right, in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from whatsapp.models import Instance, OutboundMessage
from whatsapp.services import outage

pytestmark = pytest.mark.django_db


def down(reason: str, url: str = "http://gw.example:21465") -> Instance:
    return Instance.objects.create(
        slug=f"i-{reason}",
        name=reason,
        session_name=reason,
        gateway_url=url,
        gateway_error=reason,
        unreachable_since=timezone.now(),
    )


@pytest.mark.parametrize(
    ("reason", "english", "portuguese"),
    [
        ("refused", "connection was refused", "conexão foi recusada"),
        ("dns", "cannot be found (DNS)", "não foi encontrado (DNS)"),
        ("connect_timeout", "timed out", "excedeu o tempo"),
        ("tls", "(TLS)", "(TLS)"),
        ("read_timeout", "did not answer in time", "não respondeu a tempo"),
        ("dropped", "dropped the connection", "interrompeu a conexão"),
        ("http", "with errors", "com erros"),
        ("protocol", "not as WPPConnect Server does", "não como o WPPConnect Server"),
        ("secret", "cannot be decrypted", "não pode ser decifrada"),
    ],
)
def test_each_reason_is_named_right_in_both_languages(reason, english, portuguese):
    instance = down(reason)
    with translation.override("en"):
        explained = outage.describe(instance)
        assert english in explained.detail
        assert explained.checks
    with translation.override("pt-br"):
        assert portuguese in outage.describe(instance).detail


def test_a_refused_connection_is_never_called_a_timeout():
    with translation.override("en"):
        explained = outage.describe(down("refused"))
    assert "timed out" not in explained.detail and "time" not in explained.reason_label
    assert explained.title == "The gateway cannot be reached"


def test_it_says_how_many_messages_wait_and_that_they_will_be_sent():
    instance = down("refused")
    for n in range(3):
        OutboundMessage.objects.create(instance=instance, recipient=f"552199999000{n}", body="x")
    with translation.override("pt-br"):
        explained = outage.describe(instance)
    assert explained.waiting == 3
    assert explained.waiting_text == (
        "3 mensagens na fila esperam e serão enviadas quando o gateway voltar."
    )


def test_the_gateway_url_is_shown_without_credentials():
    explained = outage.describe(down("refused", "http://user:pa55@gw.example:21465/"))
    assert "pa55" not in explained.detail and "user" not in explained.detail
    assert "http://gw.example:21465/" in explained.detail


def test_no_outage_when_the_gateway_answered():
    instance = down("refused")
    instance.gateway_error = ""
    assert outage.describe(instance) is None


def test_the_gateways_own_words_are_shown_only_when_it_answered():
    refused = down("refused")
    refused.last_error = "the gateway refused the connection"
    assert outage.describe(refused).gateway_said == ""
    http = down("http")
    http.last_error = "Error starting session"
    assert outage.describe(http).gateway_said == "Error starting session"
