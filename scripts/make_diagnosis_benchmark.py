"""Build the diagnosis benchmark from real public records (Synthea FHIR R4 bundles, HL7 C-CDA
examples): the input is the record with its conditions removed everywhere they appear, the gold is
those conditions in ICD-10-CM.

    python scripts/make_diagnosis_benchmark.py --synthea DIR_OR_GITDIR --ccda GITDIR --out datasets
    python scripts/make_diagnosis_benchmark.py --synthea GITDIR --training DIR

The second form writes training data for ``structkit tune diagnosis``: the Synthea bundles of
*other* patients than the benchmark's (those after the first 40 in path order, same removal of
conditions, same exclusions) into ``DIR`` with ``DIR/training.jsonl`` in the evaluation format.

``--synthea`` / ``--ccda`` are git directories of github:smart-on-fhir/generated-sample-data and
github:HL7/C-CDA-Examples (read with ``git show``; nothing is downloaded here).

Removed from every input, so that nothing leaks: FHIR Condition resources; ``reasonCode`` and
``reasonReference`` of every resource; Claim and ExplanationOfBenefit (their diagnoses);
CarePlan and Goal (they name the condition they address); narratives (``text``). C-CDA: the
problem, health-concern, assessment, assessment-and-plan, reason-for-visit, admission and
discharge diagnosis sections; encounter diagnoses; and every reason (``RSON``) relationship.
To keep the files small, FHIR inputs keep the last three years of dated resources, plus the
patient, allergies, procedures, active medications and the newest observation of each code of
any date.

Gold: the active conditions (no abatement; C-CDA: concern status active) in ICD-10-CM: the code
in the record when it has one, else the shipped SNOMED CT map (structkit.clinical.snomed_map);
conditions outside the map are listed as ``unmapped`` and not scored.
Files kept for an independent check (issue 15) are never used: see EXCLUDED.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

from lxml import etree

from structkit.clinical.icd10cm import title_of
from structkit.clinical.snomed_map import SNOMED_TO_ICD10CM

EXCLUDED = (
    "Buster_Hoeger",
    "synthea_r4_1114198",
    "synthea_r4_1447473",
    "synthea_r4_850289",
    "synthea_r4_970616",
    "970616-ips",
    "Discharge Summary",
    "Discharge_Summary",
    "Progress Note",
    "Progress_Note",
    "Diagnostic Imaging",
    "Joey_Miller",
    "MaryGrant",
)
_DROP_TYPES = {
    "Condition",
    "Claim",
    "ExplanationOfBenefit",
    "CarePlan",
    "Goal",
    "Provenance",
    "Organization",
    "Practitioner",
    "Coverage",
    "ImagingStudy",
    "Device",
    "CareTeam",
    "DiagnosticReport",
    "Immunization",
    "SupplyDelivery",
    "DocumentReference",
}
_DROP_KEYS = {"reasonCode", "reasonReference", "text", "meta", "identifier", "addresses"}
_V3 = "urn:hl7-org:v3"
_LEAKY_SECTIONS = {
    "11450-4",
    "11348-0",
    "75310-3",
    "51848-0",
    "51847-2",
    "29299-5",
    "46241-6",
    "11535-2",
    "10183-2",
    "78923-8",
    "8648-8",
}
N_SYNTHEA = 40


def _git_files(gitdir: str, prefix: str) -> list[tuple[str, str, int]]:
    out = subprocess.run(
        ["git", "--git-dir", gitdir, "ls-tree", "-r", "-l", "-z", "HEAD", prefix],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = []
    for line in out.split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        _mode, _kind, sha, size = meta.split()
        if size.isdigit():
            rows.append((path, sha, int(size)))
    return sorted(rows)


def _blob(gitdir: str, sha: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", gitdir, "cat-file", "-p", sha], capture_output=True, check=True
    ).stdout


def _scrub(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _scrub(v) for k, v in node.items() if k not in _DROP_KEYS}
    if isinstance(node, list):
        return [_scrub(v) for v in node]
    return node


def _date_of(resource: dict[str, Any]) -> str:
    for name in ("effectiveDateTime", "authoredOn", "performedDateTime", "issued", "recordedDate"):
        if isinstance(resource.get(name), str):
            return str(resource[name])[:10]
    for name in ("period", "performedPeriod", "effectivePeriod"):
        if isinstance(resource.get(name), dict) and "start" in resource[name]:
            return str(resource[name]["start"])[:10]
    return ""


def synthea_item(bundle: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    gold: list[str] = []
    unmapped: list[str] = []
    for entry in bundle.get("entry", []):
        r = entry["resource"]
        if r["resourceType"] != "Condition" or "abatementDateTime" in r:
            continue
        for coding in r["code"].get("coding", []):
            code = SNOMED_TO_ICD10CM.get(coding.get("code", ""))
            if code and code not in gold:
                gold.append(code)
            elif not code:
                unmapped.append(f"SNOMED {coding.get('code')} {coding.get('display', '')}")
    if not gold:
        return None
    resources = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] not in _DROP_TYPES
    ]
    newest = max((_date_of(r) for r in resources), default="")
    cutoff = f"{int(newest[:4]) - 3}{newest[4:]}" if newest else ""
    latest: dict[str, tuple[str, int]] = {}  # the newest observation of each code, any date
    for i, r in enumerate(resources):
        if r["resourceType"] == "Observation":
            key = json.dumps(r.get("code", {}).get("coding", [{}])[0].get("code"))
            if key not in latest or _date_of(r) >= latest[key][0]:
                latest[key] = (_date_of(r), i)
    newest_obs = {i for _, i in latest.values()}
    kept = []
    for i, r in enumerate(resources):
        date = _date_of(r)
        always = (
            r["resourceType"] in ("Patient", "AllergyIntolerance", "Procedure")
            or (r["resourceType"] == "MedicationRequest" and r.get("status") == "active")
            or i in newest_obs
        )
        if always or not date or date >= cutoff:
            r = _scrub(r)
            if r["resourceType"] == "Patient":  # direct identifiers are not needed for the task
                r = {
                    k: v
                    for k, v in r.items()
                    if k
                    in (
                        "resourceType",
                        "gender",
                        "birthDate",
                        "deceasedDateTime",
                        "deceasedBoolean",
                        "maritalStatus",
                    )
                }
            kept.append({"resource": r})
    stripped = {"resourceType": "Bundle", "type": "collection", "entry": kept}
    return stripped, {"icd10": gold, "unmapped": sorted(set(unmapped))}


def _code(el: etree._Element) -> str:
    return el.get("code") or ""


def ccda_item(data: bytes) -> tuple[bytes, dict[str, Any]] | None:
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"v3": _V3}
    gold: list[str] = []
    unmapped: list[str] = []
    for section in root.iterfind(".//v3:section", ns):
        code = section.find("v3:code", ns)
        if code is None or _code(code) not in ("11450-4", "11348-0"):
            continue
        for act in section.iterfind("v3:entry/v3:act", ns):
            status = act.find("v3:statusCode", ns)
            if status is not None and status.get("code") not in ("active", None):
                continue
            for value in act.iterfind(".//v3:observation/v3:value", ns):
                found = None
                for candidate in [value, *value.iterfind("v3:translation", ns)]:
                    system, c = candidate.get("codeSystem"), candidate.get("code") or ""
                    if system == "2.16.840.1.113883.6.90" and title_of(c):
                        found = c
                    elif (
                        system == "2.16.840.1.113883.6.96" and c in SNOMED_TO_ICD10CM and not found
                    ):
                        found = SNOMED_TO_ICD10CM[c]
                if found and found not in gold:
                    gold.append(found)
                elif not found and value.get("code"):
                    system, code = value.get("codeSystem"), value.get("code")
                    unmapped.append(f"{system} {code} {value.get('displayName', '')}")
    if not gold:
        return None
    for section in list(root.iterfind(".//v3:section", ns)):
        code = section.find("v3:code", ns)
        if code is not None and _code(code) in _LEAKY_SECTIONS:
            component = section.getparent()
            component.getparent().remove(component)
    for rel in list(root.iterfind(".//v3:entryRelationship[@typeCode='RSON']", ns)):
        rel.getparent().remove(rel)
    for tid in list(root.iterfind(".//v3:templateId[@root='2.16.840.1.113883.10.20.22.4.80']", ns)):
        act = tid.getparent()  # encounter diagnosis act
        holder = act.getparent()
        holder.getparent().remove(holder)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), {
        "icd10": gold,
        "unmapped": sorted(set(unmapped)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthea", required=True)
    parser.add_argument("--ccda")
    parser.add_argument("--out", default="datasets")
    parser.add_argument("--training", metavar="DIR", help="write training bundles here instead")
    args = parser.parse_args()
    if args.training:
        write_training(args.synthea, Path(args.training))
        return
    if not args.ccda:
        parser.error("--ccda is required to build the benchmark")
    out = Path(args.out)
    folder = out / "diagnosis_real"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for path, name, (record, gold) in _synthea_items(args.synthea)[:N_SYNTHEA]:
        (folder / name).write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
        lines.append(
            {
                "id": name.removesuffix(".json"),
                "input": f"diagnosis_real/{name}",
                "gold": {**gold, "source": f"smart-on-fhir/generated-sample-data:{path}"},
            }
        )
    for path, sha, _size in _git_files(args.ccda, "Documents/"):
        if not path.lower().endswith(".xml") or any(x in path for x in EXCLUDED):
            continue
        ccda = ccda_item(_blob(args.ccda, sha))
        if ccda is None:
            continue
        name = "ccda_" + Path(path).parent.name.lower().replace(" ", "_") + ".xml"
        (folder / name).write_bytes(ccda[0])
        lines.append(
            {
                "id": name.removesuffix(".xml"),
                "input": f"diagnosis_real/{name}",
                "gold": {**ccda[1], "source": f"HL7/C-CDA-Examples:{path}"},
            }
        )
    with (out / "diagnosis_real.jsonl").open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} items -> {out / 'diagnosis_real.jsonl'}")


def _synthea_items(gitdir: str) -> list[tuple[str, str, tuple[dict[str, Any], dict[str, Any]]]]:
    """Every usable Synthea bundle in path order: (path, file name, (input, gold))."""
    out = []
    for path, sha, _size in _git_files(gitdir, "R4/SYNTHEA/"):
        if not path.endswith(".json") or any(x in path for x in EXCLUDED) or not path.isascii():
            continue
        item = synthea_item(json.loads(_blob(gitdir, sha)))
        if item is not None:
            out.append((path, "synthea_" + Path(path).stem.split("_")[-1][:8] + ".json", item))
    return out


def write_training(gitdir: str, folder: Path) -> None:
    """The bundles after the benchmark's first N_SYNTHEA, as an evaluation-format dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    benchmark = {
        json.loads(line)["gold"]["source"]
        for line in (Path(__file__).resolve().parent.parent / "datasets" / "diagnosis_real.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    }
    lines = []
    for path, name, (record, gold) in _synthea_items(gitdir)[N_SYNTHEA:]:
        source = f"smart-on-fhir/generated-sample-data:{path}"
        if source in benchmark:  # never a benchmark patient, whatever the order
            continue
        (folder / name).write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
        gold = {**gold, "source": source}
        lines.append({"id": name.removesuffix(".json"), "input": name, "gold": gold})
    with (folder / "training.jsonl").open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} training items -> {folder / 'training.jsonl'}")


if __name__ == "__main__":
    main()
