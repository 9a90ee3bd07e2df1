"""A small SNOMED CT -> ICD-10-CM map for the conditions that occur in the shipped benchmark and
in common problem lists (Synthea's condition modules; C-CDA sample documents).

Written by hand from the ICD-10-CM tabular list (each target is checked against the official code
list from ``simple-icd-10-cm`` in the tests) following the NLM SNOMED CT to ICD-10-CM map's default
targets where the map has a context-free one. It is not the NLM map (whose licence needs UMLS
terms): codes outside it are reported unmapped, never guessed.
"""

from __future__ import annotations

__all__ = ["SNOMED_TO_ICD10CM"]

SNOMED_TO_ICD10CM: dict[str, str] = {
    "162864005": "E66.9",  # Body mass index 30+ - obesity
    "408512008": "E66.01",  # Body mass index 40+ - severely obese
    "38341003": "I10",  # Hypertension
    "59621000": "I10",  # Essential hypertension
    "15777000": "R73.03",  # Prediabetes
    "40055000": "J32.9",  # Chronic sinusitis
    "444814009": "J01.90",  # Viral sinusitis
    "271737000": "D64.9",  # Anemia
    "19169002": "O03.9",  # Miscarriage in first trimester
    "55822004": "E78.5",  # Hyperlipidemia
    "53741008": "I25.10",  # Coronary heart disease
    "703151001": "Z86.69",  # History of single seizure
    "128613002": "G40.909",  # Seizure disorder
    "230690007": "I63.9",  # Stroke
    "428251008": "Z90.49",  # History of appendectomy
    "74400008": "K37",  # Appendicitis
    "88805009": "I50.9",  # Chronic congestive heart failure
    "84757009": "G40.909",  # Epilepsy
    "239873007": "M17.9",  # Osteoarthritis of knee
    "49436004": "I48.91",  # Atrial fibrillation
    "55680006": "T50.901A",  # Drug overdose
    "196416002": "K01.1",  # Impacted molars
    "124171000119105": "G43.719",  # Chronic intractable migraine without aura
    "410429000": "I46.9",  # Cardiac arrest
    "429007001": "Z86.74",  # History of cardiac arrest
    "82423001": "G89.29",  # Chronic pain
    "26929004": "G30.9",  # Alzheimer's disease
    "64859006": "M81.0",  # Osteoporosis
    "446096008": "J30.89",  # Perennial allergic rhinitis
    "232353008": "J30.89",  # Perennial allergic rhinitis with seasonal variation
    "367498001": "J30.2",  # Seasonal allergic rhinitis
    "22298006": "I21.9",  # Myocardial infarction
    "399211009": "I25.2",  # History of myocardial infarction
    "92691004": "D07.5",  # Carcinoma in situ of prostate
    "126906006": "D49.59",  # Neoplasm of prostate
    "44054006": "E11.9",  # Diabetes (type 2)
    "302870006": "E78.1",  # Hypertriglyceridemia
    "90560007": "M10.9",  # Gout
    "237602007": "E88.810",  # Metabolic syndrome X
    "80394007": "R73.9",  # Hyperglycemia
    "47693006": "K35.32",  # Rupture of appendix (with perforation, localized peritonitis)
    "239872002": "M16.9",  # Osteoarthritis of hip
    "68496003": "K63.5",  # Polyp of colon
    "185086009": "J44.9",  # Chronic obstructive bronchitis
    "87433001": "J43.9",  # Pulmonary emphysema
    "275272006": "S06.9X9A",  # Brain damage - traumatic
    "72892002": "Z34.90",  # Normal pregnancy
    "368581000119106": "E11.40",  # Neuropathy due to type 2 diabetes mellitus
    "24079001": "L20.9",  # Atopic dermatitis
    "7200002": "F10.20",  # Alcoholism
    "201834006": "M19.049",  # Localized, primary osteoarthritis of the hand
    "48333001": "T30.0",  # Burn injury
    "79586000": "O00.109",  # Tubal pregnancy
    "69896004": "M06.9",  # Rheumatoid arthritis
    "254637007": "C34.90",  # Non-small cell lung cancer
    "424132000": "C34.90",  # Non-small cell carcinoma of lung, TNM stage 1
    "162573006": "R91.8",  # Suspected lung cancer
    "713197008": "K62.1",  # Recurrent rectal polyp
    "363406005": "C18.9",  # Malignant tumor of colon
    "94260004": "C78.5",  # Secondary malignant neoplasm of colon
    "10509002": "J20.9",  # Acute bronchitis
    "192127007": "F90.9",  # Child attention deficit disorder
    "698754002": "G82.20",  # Chronic paralysis due to lesion of spinal cord
    "236077008": "R19.7",  # Protracted diarrhea
    "6072007": "K62.5",  # Bleeding from anus
    "431855005": "N18.1",  # Chronic kidney disease stage 1
    "431856006": "N18.2",  # Chronic kidney disease stage 2
    "433144002": "N18.30",  # Chronic kidney disease stage 3
    "127013003": "E11.21",  # Diabetic renal disease
    "90781000119102": "E11.29",  # Microalbuminuria due to type 2 diabetes
    "157141000119108": "E11.29",  # Proteinuria due to type 2 diabetes
    "1551000119108": "E11.319",  # Nonproliferative diabetic retinopathy due to type 2 diabetes
    "233678006": "J45.909",  # Childhood asthma
    "195967001": "J45.909",  # Asthma
    "370143000": "F32.9",  # Major depression disorder
    "5602001": "F11.10",  # Opioid abuse
    "449868002": "F17.210",  # Smokes tobacco daily
    "65363002": "H66.90",  # Otitis media
    "43878008": "J02.0",  # Streptococcal sore throat
    "195662009": "J02.9",  # Acute viral pharyngitis
    "73430006": "G47.30",  # Sleep apnea
    "13445001": "H81.09",  # Ménière's disease
    "385093006": "J18.9",  # Community acquired pneumonia
    "233604007": "J18.9",  # Pneumonia
    "91302008": "A41.9",  # Sepsis
    "59282003": "I26.99",  # Pulmonary embolism
    "40275004": "L23.9",  # Contact dermatitis
    "36971009": "J32.9",  # Sinusitis
    "57676002": "M25.50",  # Arthralgia
    "267036007": "R06.00",  # Dyspnea
    "29857009": "R07.9",  # Chest pain
    "386661006": "R50.9",  # Fever
    "46635009": "E10.9",  # Type 1 diabetes mellitus
    "73211009": "E11.9",  # Diabetes mellitus
    "40930008": "E03.9",  # Hypothyroidism
    "13645005": "J44.9",  # Chronic obstructive lung disease
    "414545008": "I25.10",  # Ischemic heart disease
    "401303003": "I21.3",  # Acute ST segment elevation myocardial infarction
    "401314000": "I21.4",  # Acute non-ST segment elevation myocardial infarction
    "709044004": "N18.9",  # Chronic kidney disease
    "35489007": "F32.A",  # Depressive disorder
    "197480006": "F41.9",  # Anxiety disorder
    "190389009": "E11.622",  # Type II diabetes mellitus with ulcer
    "195977004": "J45.909",  # Mixed asthma
    "304527002": "J45.901",  # Acute asthma
    "194828000": "I20.9",  # Angina
    "93870000": "C22.9",  # Malignant neoplasm of liver
    "35064005": "R19.5",  # Dark stools
}
