"""The monitoring page's drift and agreement figures as Prometheus gauges on `/metrics`, for the
active model version, so an alert can fire:

- `chexweb_score_psi{finding}`: population stability index of the finding's scores in the last
  complete week against the four before (NaN without scores in either period), and
  `chexweb_score_psi_level{finding}`: 0 stable (< 0.1), 1 moderate (0.1 to 0.25), 2 significant.
- `chexweb_reviewer_agreement{finding}`: the share of the verdicts signed off in the last four
  complete weeks that agree with the model (NaN without one), and
  `chexweb_reviewer_verdicts{finding}`: how many.

The monitoring page's figures (diagnoses/monitoring.py), counted by the database at each scrape."""

import math

from prometheus_client.core import GaugeMetricFamily

from diagnoses import monitoring

LEVELS = {"stable": 0, "moderate": 1, "significant": 2}


def monitoring_families() -> list:
    version = monitoring.monitored_model_version()
    psi = GaugeMetricFamily("chexweb_score_psi", "Population stability index of the finding's "
                            "scores, last complete week against the four before (active model)",
                            labels=["finding"])
    level = GaugeMetricFamily("chexweb_score_psi_level", "0 stable (PSI < 0.1), 1 moderate "
                              "(0.1 to 0.25), 2 significant (> 0.25)", labels=["finding"])
    agreement = GaugeMetricFamily("chexweb_reviewer_agreement", "Share of the verdicts signed "
                                  "off in the last four complete weeks that agree with the "
                                  "model", labels=["finding"])
    verdicts = GaugeMetricFamily("chexweb_reviewer_verdicts", "Verdicts signed off in the last "
                                 "four complete weeks", labels=["finding"])
    if version is not None:
        window = monitoring.monitoring_window()
        drift = monitoring.score_drift(model_version_id=version.pk, periods=window.periods)
        for name, figures in drift.items():
            psi.add_metric([name], math.nan if figures["psi"] is None else figures["psi"])
            level.add_metric([name], LEVELS.get(figures["level"], math.nan))
        for name, (share, total) in monitoring.reviewer_agreement(
                model_version_id=version.pk, since=window.agreement_since,
                until=window.until).items():
            agreement.add_metric([name], math.nan if share is None else share)
            verdicts.add_metric([name], total)
    return [psi, level, agreement, verdicts]
