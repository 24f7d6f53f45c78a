"""A real SMTP server for the delivery tests (aiosmtpd on a loopback port, in a thread of the
test process), which can be down, refuse messages, or drop the connection mid-message; and a
clock the tests move forward instead of waiting."""

import datetime
import email
import email.policy
import logging
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP session otherwise


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Handler:
    def __init__(self):
        self.behaviour = "accept"
        self.refuse_subject = None  # with "refuse" or "defer": only messages whose subject has this
        self.received = []  # the messages the server accepted, parsed
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        targeted = self.refuse_subject is None or self.refuse_subject in str(message["Subject"])
        if self.behaviour == "refuse" and targeted:
            return "550 5.1.1 Mailbox unavailable"
        if self.behaviour == "defer" and targeted:
            return "451 4.3.0 Try again later"
        if self.behaviour == "drop":
            # The whole message has arrived, but the server goes away before answering it.
            server.transport.close()
            return "421 4.3.0 closing"
        with self.lock:
            self.received.append(message)
        return "250 2.0.0 OK queued"


class MailServer:
    """An SMTP server on 127.0.0.1:`port`. stop() takes it down (the port refuses connections);
    start() brings it back on the same port."""

    def __init__(self):
        self.port = free_port()
        self.handler = Handler()
        self.controller = None
        self.silent = None

    @property
    def received(self):
        return self.handler.received

    def message_ids(self):
        return [message["Message-ID"] for message in self.received]

    def behave(self, behaviour, subject=None):
        """accept; refuse (550) or defer (451) every message, or those whose subject has
        `subject`; drop the connection after the message."""
        self.handler.behaviour, self.handler.refuse_subject = behaviour, subject

    def hang(self):
        """The server is there but never answers: the port accepts connections and says nothing."""
        self.stop()
        self.silent = socket.create_server(("127.0.0.1", self.port))

    def start(self):
        if self.silent is not None:
            self.silent.close()
            self.silent = None
        if self.controller is None:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        if self.silent is not None:
            self.silent.close()
            self.silent = None


@pytest.fixture
def mail_server(settings):
    """A real SMTP server that lightboard's SMTP backend sends to; started."""
    server = MailServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL, settings.EMAIL_TIMEOUT = False, False, 5
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield server
    finally:
        server.stop()


class Clock:
    """django.utils.timezone.now, moved forward by the test: the real time plus an offset that
    only grows (rows written with the model's own default stay due when they would be)."""

    def __init__(self, real_now):
        self.real_now = real_now
        self.offset = datetime.timedelta(0)

    def __call__(self):
        return self.real_now() + self.offset

    @property
    def now(self):
        return self()

    def advance(self, **delta):
        self.offset += datetime.timedelta(**delta)
        return self.now

    def set(self, moment):
        """Move to `moment` (never back)."""
        self.offset = max(self.offset, moment - self.real_now())
        return self.now


@pytest.fixture
def clock(monkeypatch):
    from django.utils import timezone

    fake = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", fake)
    return fake
