"""Helpers for testing code that uses structkit, and for checking an installation end to end.

- :class:`VLLMServer`: a real ``vllm`` OpenAI-compatible server on a free loopback port, with the
  embedded engine's settings (both decode alike), that can be stopped, killed and restarted:
  point ``STRUCTKIT_SERVER_URL`` (or a ``ServerEngine``) at its ``url``. Needs the ``cpu`` or
  ``gpu`` extra.
- :data:`PROBE` and :func:`write_probe_records`: a tiny question-mode task (one yes/no question
  per record) and records for it, to check an engine, a server or a Ray cluster in a minute.
- ``structkit.testing.freeform_diagnosis`` (import it explicitly: it registers a task): the classic
  whole-record task (one prompt per record, the answer constrained to a Pydantic model, evidence
  grounded by an enum of the record's labels), which structkit's own tests and benchmarks run.

structkit's test suite and benchmark scripts use exactly these.
"""

from ._probe import PROBE, Probe, write_probe_records
from ._vllm_server import ServerDidNotStart, VLLMServer, free_port, server_environment

__all__ = [
    "PROBE",
    "Probe",
    "ServerDidNotStart",
    "VLLMServer",
    "free_port",
    "server_environment",
    "write_probe_records",
]
