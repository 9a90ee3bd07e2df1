"""structkit in five calls. Run: .venv/bin/python examples/quickstart.py

The first call starts the embedded engine (about a minute on a CPU); the rest reuse it.
vLLM spawns a subprocess, so the work must sit under ``if __name__ == "__main__":``.
"""

from pathlib import Path

import structkit

HERE = Path(__file__).parent

if __name__ == "__main__":
    diagnosis = structkit.diagnose(HERE / "fhir_bundle.json")
    for item in diagnosis.differential:
        print(
            f"{item.condition}: {item.likelihood:.2f}, evidence {item.evidence} -> {item.pointers}"
        )

    outcomes = structkit.diagnose_many([HERE / "patient_record.json", HERE / "ccda_discharge.xml"])
    for outcome in outcomes:
        print(outcome.record_id, "ok" if outcome.ok else f"failed: {outcome.error}")

    financials = structkit.analyze_financials(HERE / "income_statement.csv")
    for ratios in financials.ratios:
        print(ratios.period, "net margin", ratios.net_margin)
    for flag in financials.flags:
        print("flag:", flag.kind, flag.message)

    clauses = structkit.extract_clauses(HERE / "contract.txt")
    for clause in clauses.clauses:
        print(clause.clause_type, clause.start, clause.end, clause.verified)
