"""Account emails over real SMTP: Django's SMTP backend talking to a local aiosmtpd server.

The other tests use Django's in-memory outbox; this one proves the configured
path (``EMAIL_URL=smtp://…``) delivers a usable reset link through a real
SMTP conversation.
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django_tenants.utils import schema_context

from apps.accounts.services import user_create
from apps.accounts.tests import PASSWORD
from nimbus.embedded import choose_port

pytestmark = pytest.mark.django_db


class Mailbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=choose_port(None))
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield mailbox
    controller.stop()


def test_a_password_reset_travels_over_smtp_and_its_link_works(smtp_server, host_client, acme):
    with schema_context(acme.schema_name):
        user_create(email="mailer@acme.test", password=PASSWORD)

    assert host_client("acme.localhost").post("/password-reset/", {"email": "mailer@acme.test"}).status_code == 302

    [(recipients, message)] = smtp_server.messages
    assert recipients == ["mailer@acme.test"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://acme\.localhost/password-reset/\S+", body).group(0)
    client = host_client("acme.localhost")
    form_page = client.get(link.removeprefix("http://acme.localhost"), follow=True)
    new = "delivered-by-real-smtp-2026"
    assert client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}).status_code == 302
    signed_in = host_client("acme.localhost").post("/sign-in/", {"username": "mailer@acme.test", "password": new})
    assert signed_in.status_code == 302
