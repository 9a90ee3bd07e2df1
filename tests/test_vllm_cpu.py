"""vLLM's CPU settings are chosen per host (no vLLM start needed)."""

from __future__ import annotations

import os

from structkit._host import cpu_dtype, cpu_flags
from structkit.engines._vllm import _cpu_environment


def test_bfloat16_only_where_the_cpu_computes_it_natively():
    assert cpu_dtype({"avx2", "fma"}) == "float32"  # AMD EPYC, AVX2 only: bf16 is emulated
    assert cpu_dtype({"avx512f", "avx512_bf16"}) == "bfloat16"
    assert cpu_dtype({"avx512f", "amx_bf16", "amx_tile"}) == "bfloat16"
    assert cpu_dtype(set()) == "float32"


def test_this_hosts_cpu_is_read_once_for_every_user():
    from pathlib import Path

    from structkit._hidden import preferred_dtype
    from structkit._host import host

    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    line = next(x for x in text.splitlines() if x.startswith("flags"))
    assert cpu_flags() == set(line.partition(":")[2].split())
    expected = "bfloat16" if {"amx_bf16", "avx512_bf16"} & cpu_flags() else "float32"
    assert cpu_dtype() == preferred_dtype() == expected  # vLLM, hidden states, LoRA agree
    about = host()
    assert about["cpu"] != "unknown" and about["cores"] == os.cpu_count()
    assert set(about["flags"]) <= cpu_flags()


def test_all_cores_compute_unless_the_user_said_otherwise(monkeypatch):
    monkeypatch.delenv("VLLM_CPU_NUM_OF_RESERVED_CPU", raising=False)
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "0")
    _cpu_environment()
    assert os.environ["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "0"  # the user's setting is kept
