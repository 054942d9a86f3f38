"""Errors for people: the whole cause of a failure as sentences, never a stack trace.

Dagster wraps an error raised in a step (``DagsterExecutionStepExecutionError:
Error occurred while executing op ...``); the first line of that says nothing.
``error_text`` gives every message of the chain that carries words (the
step's own error, then what caused it), each line kept, the wrappers and the
exception classes of ``dg.Failure`` left out.
"""

from __future__ import annotations

WRAPPERS = frozenset({"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"})
QUIET_CLASSES = frozenset({"Failure"})  # a dg.Failure's description is already the sentence


def error_text(err) -> str:
    """Every message of a Dagster ``SerializableErrorInfo`` and its causes, in order, without stack traces."""
    parts: list[str] = []
    seen = 0
    while err is not None and seen < 20:
        seen += 1
        message = (getattr(err, "message", "") or "").strip()
        name = getattr(err, "cls_name", "") or ""
        if name not in WRAPPERS and message:
            if name in QUIET_CLASSES and ": " in message.split("\n", 1)[0]:
                message = message.split(": ", 1)[1]
            elif name and "." in message.split(":", 1)[0]:  # "pipelines.methodology.MethodologyError: ..."
                message = f"{name}: {message.split(': ', 1)[1]}" if ": " in message else message
            if message not in parts:
                parts.append(message)
        err = getattr(err, "cause", None) or getattr(err, "context", None)
    return "\n".join(parts)


def indented(text: str, first: str = "  ✗ ", rest: str = "    ") -> str:
    """A message of several lines for the terminal: the first line marked, the others indented under it."""
    lines = [line for line in text.splitlines() if line.strip()] or [""]
    return "\n".join([first + lines[0], *(rest + line for line in lines[1:])])
