"""Validation of a model on labelled studies: metrics (AUROC with a bootstrap confidence
interval, operating points, ROC and calibration curves), drift (population stability index), the
published figures to compare with, and the report's charts. No Django: `manage.py evaluate` and
the admin pages both call it."""
