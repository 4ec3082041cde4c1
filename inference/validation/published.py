"""Published mean AUROCs over the 14 findings of the ChestX-ray14 test split, to set a local
figure beside. One definition: the evaluate report and the admin validation page read these."""

PUBLISHED_MEAN_AUROC: tuple[tuple[str, float], ...] = (
    # Rajpurkar et al. 2017, "CheXNet: Radiologist-Level Pneumonia Detection on Chest X-Rays
    # with Deep Learning" (arXiv:1711.05225), Table 2: the mean of its 14 per-finding AUROCs.
    ("CheXNet paper (Rajpurkar et al. 2017)", 0.841),
    # arnoweng/CheXNet, the PyTorch reproduction whose weights ChexWeb serves: its README.
    ("arnoweng/CheXNet reproduction", 0.847),
)
