"""The engine contract lives at the bottom of the package (:mod:`structkit._engine`), so that
tasks and the runner never import from ``engines``; this module keeps the old import path."""

from .._engine import Completion, Engine, GenerationRequest, Message

__all__ = ["Completion", "Engine", "GenerationRequest", "Message"]
