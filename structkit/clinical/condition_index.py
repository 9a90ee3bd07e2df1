"""A small shipped index of common conditions: which record facts point to which ICD-10-CM code.

Each rule names one ICD-10-CM code and the facts that suggest it: phrases in the problem list or
free-text notes, medications (by ingredient), procedures, and flagged measurements. A rule only
*proposes a candidate*; ranking is left to the model (or to the code-only baseline). The pairs
are textbook associations (first-line drugs of a condition, diagnostic thresholds of the ADA,
ACC/AHA, WHO anaemia and KDIGO definitions); each code is checked against the ICD-10-CM code list
in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RULES", "Rule"]


@dataclass(frozen=True)
class Rule:
    code: str
    text: tuple[str, ...] = ()  # regexes on problems / notes (lowercase)
    medications: tuple[str, ...] = ()  # regexes on medication names (lowercase)
    procedures: tuple[str, ...] = ()  # regexes on procedure names (lowercase)
    findings: tuple[
        str, ...
    ] = ()  # "measure:flag,flag" e.g. "bmi:high" (critical counts as its side)


RULES: tuple[Rule, ...] = (
    Rule(
        "I10",
        (r"\bhypertension\b", r"\bhtn\b", r"high blood pressure"),
        (
            r"lisinopril",
            r"amlodipine",
            r"hydrochlorothiazide",
            r"losartan",
            r"enalapril",
            r"chlorthalidone",
            r"valsartan",
            r"ramipril",
        ),
        (),
        ("systolic_bp:high", "diastolic_bp:high"),
    ),
    Rule(
        "E11.9",
        (r"type 2 diabetes", r"\bt2dm\b", r"diabetes mellitus", r"\bdiabetes\b"),
        (
            r"metformin",
            r"glipizide",
            r"glyburide",
            r"sitagliptin",
            r"liraglutide",
            r"empagliflozin",
            r"canagliflozin",
            r"pioglitazone",
        ),
        (),
        ("hba1c:diabetic", "glucose:high"),
    ),
    Rule("E11.10", (r"ketoacidosis", r"\bdka\b", r"kussmaul", r"ketone"), (), (), ()),
    Rule("E10.9", (r"type 1 diabetes", r"\bt1dm\b"), (r"insulin",), (), ()),
    Rule("R73.03", (r"prediabetes", r"pre-diabetes"), (), (), ("hba1c:prediabetic",)),
    Rule("R73.9", (r"hyperglyc",), (), (), ("glucose:high",)),
    Rule("E16.2", (r"hypoglyc",), (r"glucagon",), (), ("glucose:low",)),
    Rule("E66.9", (r"obesity", r"obese"), (r"orlistat", r"phentermine"), (), ("bmi:obese",)),
    Rule("E66.3", (r"overweight",), (), (), ("bmi:overweight",)),
    Rule(
        "E78.5",
        (r"hyperlipid", r"dyslipid", r"high cholesterol", r"hypercholesterol"),
        (r"simvastatin", r"atorvastatin", r"rosuvastatin", r"pravastatin", r"ezetimibe"),
        (),
        ("ldl:high", "total_cholesterol:high"),
    ),
    Rule(
        "E78.1",
        (r"hypertriglycerid",),
        (r"fenofibrate", r"gemfibrozil"),
        (),
        ("triglycerides:high",),
    ),
    Rule("E88.810", (r"metabolic syndrome",), (), (), ()),
    Rule("D64.9", (r"anemia", r"anaemia"), (r"ferrous", r"iron"), (), ("hemoglobin:low",)),
    Rule("N18.9", (r"chronic kidney", r"\bckd\b"), (), (r"dialysis",), ("egfr:low",)),
    Rule("N17.9", (r"acute kidney", r"\baki\b"), (), (), ("creatinine:high",)),
    Rule("I21.3", (r"st elevation", r"st-elevation", r"stemi\b"), (), (), ("troponin_i:high",)),
    Rule("I21.4", (r"nstemi", r"non-st"), (), (), ("troponin_i:high",)),
    Rule("I21.9", (r"myocardial infarction", r"heart attack"), (), (), ("troponin_i:high",)),
    Rule(
        "I25.10",
        (r"coronary", r"\bcad\b", r"ischemic heart", r"angina"),
        (r"nitroglycerin", r"clopidogrel", r"isosorbide"),
        (r"coronary artery bypass", r"percutaneous coronary", r"coronary stent"),
        (),
    ),
    Rule("I20.0", (r"unstable angina",), (), (), ()),
    Rule("R07.9", (r"chest pain", r"chest pressure", r"chest tightness"), (), (), ()),
    Rule(
        "I50.9",
        (r"heart failure", r"\bchf\b"),
        (r"furosemide", r"digoxin", r"spironolactone", r"sacubitril", r"carvedilol"),
        (),
        (),
    ),
    Rule(
        "I48.91",
        (r"atrial fibrillation", r"\bafib\b"),
        (
            r"warfarin",
            r"jantoven",
            r"apixaban",
            r"rivaroxaban",
            r"dabigatran",
            r"verapamil",
            r"digoxin",
        ),
        (r"cardioversion",),
        (),
    ),
    Rule(
        "I46.9",
        (r"cardiac arrest",),
        (r"epinephrine",),
        (r"cardiopulmonary resuscitation", r"defibrillat"),
        (),
    ),
    Rule(
        "I63.9",
        (r"stroke", r"facial droop", r"hemipares", r"aphasia", r"slurred speech"),
        (r"alteplase",),
        (r"thrombolytic",),
        (),
    ),
    Rule("I26.99", (r"pulmonary embol", r"pleuritic"), (r"heparin", r"enoxaparin"), (), ()),
    Rule(
        "J44.9",
        (r"\bcopd\b", r"chronic obstructive", r"emphysema", r"chronic bronchitis"),
        (r"tiotropium", r"ipratropium", r"salmeterol"),
        (r"pulmonary rehabilitation",),
        (),
    ),
    Rule(
        "J45.909",
        (r"asthma", r"wheez"),
        (r"albuterol", r"fluticasone", r"montelukast", r"budesonide"),
        (),
        (),
    ),
    Rule("J18.9", (r"pneumonia", r"consolidation", r"infiltrate", r"crackles"), (), (), ()),
    Rule("J32.9", (r"chronic sinusitis",), (), (r"sinus",), ()),
    Rule("J01.90", (r"sinusitis",), (r"amoxicillin",), (), ()),
    Rule("J02.9", (r"pharyngitis", r"sore throat"), (r"penicillin v",), (), ()),
    Rule("J20.9", (r"bronchitis",), (), (), ()),
    Rule(
        "J30.9",
        (r"allergic rhinitis", r"hay fever"),
        (r"loratadine", r"cetirizine", r"fexofenadine"),
        (),
        (),
    ),
    Rule(
        "R50.9", (r"fever", r"febrile", r"pyrexia"), (r"acetaminophen",), (), ("temperature:high",)
    ),
    Rule(
        "A41.9",
        (r"sepsis", r"septic"),
        (r"piperacillin", r"vancomycin", r"ceftriaxone", r"meropenem"),
        (),
        (),
    ),
    Rule("R65.20", (r"severe sepsis",), (), (), ("lactate:high",)),
    Rule("R65.21", (r"septic shock",), (r"norepinephrine",), (), ()),
    Rule("R00.0", (r"tachycardia",), (), (), ("heart_rate:high",)),
    Rule("R06.82", (r"tachypn",), (), (), ("respiratory_rate:high",)),
    Rule("R09.02", (r"hypox",), (r"oxygen",), (), ("spo2:low",)),
    Rule("R06.00", (r"dyspn", r"shortness of breath", r"short of breath"), (), (), ()),
    Rule("I95.9", (r"hypotension",), (), (), ("systolic_bp:low",)),
    Rule("K35.80", (r"appendicitis", r"right lower quadrant", r"mcburney"), (), (), ()),
    Rule("K37", (r"appendicitis",), (), (r"appendectomy",), ()),
    Rule("Z90.49", (), (), (r"appendectomy",), ()),
    Rule("R10.9", (r"abdominal pain",), (), (), ()),
    Rule(
        "T78.2XXA",
        (r"anaphyla", r"angioedema", r"lip swelling", r"throat swelling"),
        (r"epinephrine",),
        (),
        (),
    ),
    Rule("L50.9", (r"urticaria", r"hives"), (), (), ()),
    Rule(
        "G40.909",
        (r"seizure", r"epilep"),
        (r"levetiracetam", r"phenytoin", r"carbamazepine", r"lamotrigine", r"valpro"),
        (r"electroencephalogram",),
        (),
    ),
    Rule("G43.909", (r"migraine",), (r"sumatriptan", r"topiramate"), (), ()),
    Rule(
        "G30.9", (r"alzheimer", r"dementia"), (r"donepezil", r"memantine", r"galantamine"), (), ()
    ),
    Rule(
        "M81.0", (r"osteoporosis",), (r"alendron", r"risedron", r"ibandron"), (r"bone density",), ()
    ),
    Rule(
        "M17.9",
        (r"osteoarthritis of knee", r"knee osteoarthritis"),
        (),
        (r"knee replacement", r"arthroplasty of knee"),
        (),
    ),
    Rule(
        "M16.9",
        (r"osteoarthritis of hip", r"hip osteoarthritis"),
        (),
        (r"hip replacement", r"arthroplasty of hip"),
        (),
    ),
    Rule("M19.90", (r"osteoarthritis",), (r"naproxen", r"meloxicam", r"celecoxib"), (), ()),
    Rule("M10.9", (r"\bgout\b",), (r"allopurinol", r"colchicine", r"febuxostat"), (), ()),
    Rule(
        "G89.29",
        (r"chronic pain",),
        (r"oxycodone", r"hydrocodone", r"tramadol", r"fentanyl", r"morphine"),
        (),
        (),
    ),
    Rule(
        "F11.10",
        (r"opioid abuse", r"opioid use"),
        (r"naloxone", r"buprenorphine", r"methadone"),
        (),
        (),
    ),
    Rule("T50.901A", (r"overdose",), (r"naloxone",), (), ()),
    Rule(
        "F32.A",
        (r"depress",),
        (
            r"sertraline",
            r"fluoxetine",
            r"citalopram",
            r"escitalopram",
            r"bupropion",
            r"venlafaxine",
        ),
        (r"depression screening",),
        (),
    ),
    Rule("F41.9", (r"anxiety",), (r"buspirone", r"lorazepam", r"alprazolam"), (), ()),
    Rule(
        "F90.9",
        (r"attention deficit", r"\badhd\b"),
        (r"methylphenidate", r"amphetamine", r"atomoxetine"),
        (),
        (),
    ),
    Rule("E03.9", (r"hypothyroid",), (r"levothyroxine",), (), ()),
    Rule("F17.210", (r"smok", r"cigarette", r"tobacco"), (r"nicotine",), (), ()),
    Rule(
        "F10.20",
        (r"alcoholism", r"alcohol dependence", r"alcohol use disorder"),
        (r"naltrexone", r"disulfiram", r"acamprosate"),
        (),
        (),
    ),
    Rule(
        "K01.1",
        (r"impacted (molar|tooth|teeth)",),
        (),
        (r"extraction of wisdom", r"removal of.*molar"),
        (),
    ),
    Rule("K63.5", (r"colon polyp", r"polyp of colon"), (), (r"polypectomy",), ()),
    Rule(
        "C61",
        (r"prostate cancer", r"carcinoma of prostate"),
        (r"leuprolide", r"bicalutamide"),
        (r"prostatectomy", r"biopsy of prostate"),
        (),
    ),
    Rule("C34.90", (r"lung cancer",), (r"cisplatin", r"pemetrexed"), (r"lobectomy",), ()),
    Rule(
        "C18.9",
        (r"colon cancer", r"colorectal cancer"),
        (r"oxaliplatin", r"fluorouracil"),
        (r"colectomy",),
        (),
    ),
    Rule("H81.09", (r"m[eé]ni[eè]re",), (r"betahistine", r"b[eé]tahistine"), (), ()),
    Rule("H66.90", (r"otitis media",), (), (), ()),
    Rule("E87.5", (r"hyperkal",), (), (), ("potassium:high",)),
    Rule("E87.6", (r"hypokal",), (), (), ("potassium:low",)),
    Rule("E87.1", (r"hyponatr",), (), (), ("sodium:low",)),
    Rule("D69.6", (r"thrombocytopenia",), (), (), ("platelets:low",)),
    Rule("D72.829", (r"leukocytosis",), (), (), ("wbc:high",)),
    Rule("O03.9", (r"miscarriage", r"spontaneous abortion"), (), (), ()),
    Rule("Z34.90", (r"pregnan",), (r"prenatal vitamin",), (r"antenatal", r"prenatal"), ()),
    Rule("L20.9", (r"atopic dermatitis", r"eczema"), (r"hydrocortisone", r"triamcinolone"), (), ()),
    Rule("M06.9", (r"rheumatoid",), (r"methotrexate", r"hydroxychloroquine"), (), ()),
    Rule("G47.30", (r"sleep apnea",), (), (r"polysomnograph", r"cpap"), ()),
)
