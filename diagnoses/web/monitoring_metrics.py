"""The monitoring page's drift and agreement figures as Prometheus gauges on `/metrics`, for the
active model version, so an alert can fire:

- `chexweb_score_psi{finding}`: population stability index of the finding's scores in the last 7
  days against the 28 days before (NaN without scores in either period), and
  `chexweb_score_psi_level{finding}`: 0 stable (< 0.1), 1 moderate (0.1 to 0.25), 2 significant.
- `chexweb_reviewer_agreement{finding}`: the share of signed-off verdicts of the last 28 days that
  agree with the model (NaN without one), and `chexweb_reviewer_verdicts{finding}`: how many.

Grouped counts in the database (diagnoses/monitoring.py), as on the page."""

import datetime
import math

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from diagnoses import monitoring

LEVELS = {"stable": 0, "moderate": 1, "significant": 2}
AGREEMENT_DAYS = 28


def monitoring_families() -> list:
    version = monitoring.monitored_model_version()
    psi = GaugeMetricFamily("chexweb_score_psi", "Population stability index of the finding's "
                            "scores, last 7 days against the 28 days before (active model)",
                            labels=["finding"])
    level = GaugeMetricFamily("chexweb_score_psi_level", "0 stable (PSI < 0.1), 1 moderate "
                              "(0.1 to 0.25), 2 significant (> 0.25)", labels=["finding"])
    agreement = GaugeMetricFamily("chexweb_reviewer_agreement", "Share of the signed-off "
                                  "verdicts of the last 28 days that agree with the model",
                                  labels=["finding"])
    verdicts = GaugeMetricFamily("chexweb_reviewer_verdicts", "Signed-off verdicts of the last "
                                 "28 days", labels=["finding"])
    if version is not None:
        now = timezone.now()
        drift = monitoring.score_drift(model_version_id=version.pk,
                                       periods=monitoring.default_periods(now))
        for name, figures in drift.items():
            psi.add_metric([name], math.nan if figures["psi"] is None else figures["psi"])
            level.add_metric([name], LEVELS.get(figures["level"], math.nan))
        since = now - datetime.timedelta(days=AGREEMENT_DAYS)
        for name, (share, total) in monitoring.reviewer_agreement(
                model_version_id=version.pk, since=since).items():
            agreement.add_metric([name], math.nan if share is None else share)
            verdicts.add_metric([name], total)
    return [psi, level, agreement, verdicts]
