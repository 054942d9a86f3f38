"""Notifications: run failed, publication blocked, new release, draft quality report.

One hook, ``notify(notification)``, sends every notification to each
configured notifier:

* ``LogNotifier`` (always): one line per notification appended to
  ``$CRI_HOME/reports/notifications.log``;
* ``SmtpNotifier`` (only when ``CRI_SMTP_HOST`` is set): one e-mail per
  notification, configured by environment variables::

      CRI_SMTP_HOST       mail server (unset = no e-mail)
      CRI_SMTP_PORT       default 25 (587 with STARTTLS, 465 with SSL)
      CRI_SMTP_FROM       sender address (default cri-pipeline@<hostname>)
      CRI_SMTP_TO         recipients, comma-separated (required)
      CRI_SMTP_USER       login (optional)
      CRI_SMTP_PASSWORD   password (optional)
      CRI_SMTP_STARTTLS   1 to upgrade the connection with STARTTLS
      CRI_SMTP_SSL        1 to connect with SSL (port 465)
      CRI_SMTP_EVENTS     which events are mailed (default: all but draft_report)

* any other notifier named in ``CRI_NOTIFIERS`` as ``package.module:factory``
  (comma-separated): the factory takes no argument and returns an object with
  a ``send(notification)`` method (a chat webhook, a ticket system...).

A notifier that fails does not stop the others; its error is written to the
log file instead.
"""

from __future__ import annotations

import importlib
import os
import smtplib
import socket
import ssl
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipelines.settings import get_settings

RUN_FAILED = "run_failed"
PUBLICATION_BLOCKED = "publication_blocked"
RELEASE_PUBLISHED = "release_published"
DRAFT_REPORT = "draft_report"
EVENTS = (RUN_FAILED, PUBLICATION_BLOCKED, RELEASE_PUBLISHED, DRAFT_REPORT)
DEFAULT_MAIL_EVENTS = (RUN_FAILED, PUBLICATION_BLOCKED, RELEASE_PUBLISHED)
LOG_NAME = "notifications.log"


@dataclass
class Notification:
    event: str  # one of EVENTS
    title: str  # one line, Vietnamese / English
    period: str | None = None
    run_id: str | None = None
    job: str | None = None
    details: list[str] = field(default_factory=list)  # plain-word lines: failed checks, paths
    links: dict[str, str] = field(default_factory=dict)  # name -> file path (report, release)
    at: datetime = field(default_factory=lambda: datetime.now().astimezone())

    def line(self) -> str:
        """The notification on one line (the log format)."""
        parts = [self.at.isoformat(timespec="seconds"), self.event]
        if self.period:
            parts.append(f"period={self.period}")
        if self.run_id:
            parts.append(f"run={self.run_id[:8]}")
        if self.job:
            parts.append(f"job={self.job}")
        text = " ".join(parts) + " | " + self.title
        if self.details:
            text += " | " + "; ".join(self.details[:5]) + (f"; … +{len(self.details) - 5}" if len(self.details) > 5 else "")
        if self.links:
            text += " | " + " ".join(f"{k}={v}" for k, v in self.links.items())
        return text.replace("\r", " ").replace("\n", " ")

    def text(self) -> str:
        """The notification as a short message (the e-mail body)."""
        lines = [self.title, ""]
        if self.period:
            lines.append(f"Kỳ báo cáo / period: {self.period}")
        if self.job:
            lines.append(f"Công việc / job: {self.job}")
        if self.run_id:
            lines.append(f"Lần chạy / run: {self.run_id}")
        if self.details:
            lines += ["", *[f"- {d}" for d in self.details]]
        if self.links:
            lines += ["", *[f"{k}: {v}" for k, v in self.links.items()]]
        lines += ["", f"({self.event}, {self.at.isoformat(timespec='seconds')})"]
        return "\n".join(lines)


@runtime_checkable
class Notifier(Protocol):
    def send(self, notification: Notification) -> None: ...


class LogNotifier:
    """Appends one line per notification to ``$CRI_HOME/reports/notifications.log``."""

    def __init__(self, path: Path | None = None):
        self.path = path or get_settings().reports_dir / LOG_NAME

    def send(self, notification: Notification) -> None:
        self.write(notification.line())

    def write(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class SmtpNotifier:
    """Sends one e-mail per notification. Off unless ``CRI_SMTP_HOST`` is set."""

    def __init__(self, host: str, port: int, sender: str, recipients: Sequence[str], user: str | None = None,
                 password: str | None = None, starttls: bool = False, use_ssl: bool = False,
                 events: Iterable[str] = DEFAULT_MAIL_EVENTS, timeout: float = 30.0):
        if not recipients:
            raise ValueError("CRI_SMTP_TO: no recipient")
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self.user, self.password, self.starttls, self.use_ssl = user, password, starttls, use_ssl
        self.events, self.timeout = set(events), timeout

    @classmethod
    def from_env(cls) -> SmtpNotifier | None:
        host = os.environ.get("CRI_SMTP_HOST", "").strip()
        if not host:
            return None
        use_ssl, starttls = _flag("CRI_SMTP_SSL"), _flag("CRI_SMTP_STARTTLS")
        port = int(os.environ.get("CRI_SMTP_PORT") or (465 if use_ssl else 587 if starttls else 25))
        events = [e.strip() for e in os.environ.get("CRI_SMTP_EVENTS", "").split(",") if e.strip()]
        return cls(
            host=host, port=port,
            sender=os.environ.get("CRI_SMTP_FROM") or f"cri-pipeline@{socket.gethostname()}",
            recipients=[r.strip() for r in os.environ.get("CRI_SMTP_TO", "").split(",") if r.strip()],
            user=os.environ.get("CRI_SMTP_USER") or None, password=os.environ.get("CRI_SMTP_PASSWORD") or None,
            starttls=starttls, use_ssl=use_ssl, events=events or DEFAULT_MAIL_EVENTS,
        )

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[CRI] {n.title}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["X-CRI-Event"] = n.event
        msg.set_content(n.text())
        return msg

    def send(self, notification: Notification) -> None:
        if notification.event not in self.events:
            return
        if self.use_ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with server:
            if self.starttls:
                server.starttls(context=ssl.create_default_context())
            if self.user:
                server.login(self.user, self.password or "")
            server.send_message(self.message(notification))


def _plugins() -> list[Notifier]:
    out: list[Notifier] = []
    for spec in filter(None, (s.strip() for s in os.environ.get("CRI_NOTIFIERS", "").split(","))):
        module, _, attr = spec.partition(":")
        factory = getattr(importlib.import_module(module), attr or "notifier")
        out.append(factory())
    return out


def notifiers() -> list[Notifier]:
    """The configured notifiers, read from the environment each time."""
    found: list[Notifier] = [LogNotifier()]
    smtp = SmtpNotifier.from_env()
    if smtp:
        found.append(smtp)
    return found + _plugins()


def notify(notification: Notification, targets: Sequence[Notifier] | None = None) -> list[str]:
    """Send to every notifier; return the errors (also written to the log), never raise."""
    log = LogNotifier()
    errors = []
    try:
        targets = list(targets) if targets is not None else notifiers()
    except Exception as exc:  # a broken plugin name must not lose the notification
        errors.append(f"notifier configuration: {exc}")
        targets = [log]
    for target in targets:
        try:
            target.send(notification)
        except Exception as exc:
            errors.append(f"{type(target).__name__}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
    for error in errors:
        log.write(f"{datetime.now().astimezone().isoformat(timespec='seconds')} notify_error "
                  f"event={notification.event} | {error}")
    return errors
