"""Clinical facts computed in code for the diagnosis task: findings, early-warning scores and
ICD-10-CM-coded candidate conditions. Nothing here calls a model."""
