"""The C-CDA vocabulary the reader needs: names of code systems given by OID, what each section
and statement holds, codes that only say what sort an entry is, moods and null flavors."""

from __future__ import annotations

__all__ = [
    "CODE_SYSTEMS",
    "DETAIL_WORDS",
    "NULL_FLAVORS",
    "PLANNED_MOODS",
    "ROLES",
    "SECTION_KINDS",
    "STATEMENT_KINDS",
    "TYPE_CODES",
    "WRAPPER_CODES",
]

# Names for code systems that documents often give by OID only.
CODE_SYSTEMS = {
    "2.16.840.1.113883.6.1": "LOINC",
    "2.16.840.1.113883.6.96": "SNOMED CT",
    "2.16.840.1.113883.6.88": "RxNorm",
    "2.16.840.1.113883.6.90": "ICD-10-CM",
    "2.16.840.1.113883.6.103": "ICD-9-CM",
    "2.16.840.1.113883.6.104": "ICD-9-CM procedures",
    "2.16.840.1.113883.6.4": "ICD-10-PCS",
    "2.16.840.1.113883.6.12": "CPT",
    "2.16.840.1.113883.6.69": "NDC",
    "2.16.840.1.113883.12.292": "CVX",
    "2.16.840.1.113883.3.26.1.1": "NCI Thesaurus",
    "2.16.840.1.113883.5.1": "HL7 AdministrativeGender",
    "2.16.840.1.113883.5.4": "HL7 ActCode",
    "2.16.840.1.113883.5.83": "HL7 ObservationInterpretation",
}

# Section LOINC code -> the word that names each entry of the section.
SECTION_KINDS = {
    "48765-2": "Allergy",
    "10160-0": "Medication",
    "11450-4": "Problem",
    "11348-0": "Problem",
    "47519-4": "Procedure",
    "30954-2": "Result",
    "29762-2": "Social history",
    "8716-3": "Vital sign",
    "11369-6": "Immunization",
    "46240-8": "Encounter",
    "18776-5": "Plan",
    "47420-5": "Functional status",
    "10157-6": "Family history",
    "46264-8": "Medical equipment",
    "42348-3": "Advance directive",
    "48768-6": "Payer",
}
STATEMENT_KINDS = {
    "observation": "Observation",
    "substanceAdministration": "Medication",
    "supply": "Supply",
    "procedure": "Procedure",
    "encounter": "Encounter",
    "act": "Act",
    "organizer": "Entry",
}
# Observation codes that only say what sort of observation it is ("Problem", "Diagnosis",
# "ASSERTION"): the observation's value is then the finding itself.
TYPE_CODES = frozenset(
    {
        "ASSERTION",
        "75326-9", "75325-1", "29308-4", "75323-6", "75324-4", "75321-0", "75322-8", "75315-2",
        "55607006", "404684003", "282291009", "64572001", "418799008", "409586006", "248536006",
        "373930000",
    }
)  # fmt: skip
# Acts that only wrap the real entries ("concern" acts around problems and allergies).
WRAPPER_CODES = frozenset({"CONC", "48765-2"})
PLANNED_MOODS = frozenset({"INT", "RQO", "PRMS", "PRP", "APT", "ARQ"})
ROLES = {"MFST": "reaction", "RSON": "reason", "CAUS": "cause"}
# Short words for the codes of common nested observations.
DETAIL_WORDS = {"SEV": "severity", "33999-4": "clinical status", "445518008": "age at onset"}
NULL_FLAVORS = {
    "NI": "no information",
    "NA": "not applicable",
    "UNK": "unknown",
    "ASKU": "asked but unknown",
    "NAV": "temporarily unavailable",
    "NASK": "not asked",
    "MSK": "masked",
    "OTH": "other",
    "NP": "not present",
}
