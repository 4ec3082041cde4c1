"""The 14 ChestX-ray14 findings, in the order of the model's outputs."""

FINDINGS: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)


def finding_label(name: str) -> str:
    """How people read a finding's name: `Pleural_Thickening` is `Pleural Thickening`."""
    return name.replace("_", " ")
