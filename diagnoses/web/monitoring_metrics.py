"""The monitoring page's drift and agreement figures as Prometheus gauges on `/metrics`, for the
active model version, so an alert can fire:

- `chexweb_score_psi{finding}`: population stability index of the finding's scores in the last
  complete week against the four before (NaN without scores in either period), and
  `chexweb_score_psi_level{finding}`: 0 stable (< 0.1), 1 moderate (0.1 to 0.25), 2 significant.
- `chexweb_reviewer_agreement{finding}`: the share of the verdicts signed off in the last four
  complete weeks that agree with the model (NaN without one), and
  `chexweb_reviewer_verdicts{finding}`: how many.

The monitoring page's figures (diagnoses/monitoring.py). They are of complete weeks, which do not
change once over, so each web process keeps them for an hour (FIGURES_KEPT_S) instead of counting
the weeks' findings again at every scrape (some 100 ms with 100,000 studies: docs/benchmarks.md,
"Monitoring"); every process gives the same answer."""

import math

from django.core.cache import cache
from prometheus_client.core import GaugeMetricFamily

from diagnoses import monitoring

LEVELS = {"stable": 0, "moderate": 1, "significant": 2}
FIGURES_KEPT_S = 3600


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
        drift, shares = _figures(version.pk)
        for name, figures in drift.items():
            psi.add_metric([name], math.nan if figures["psi"] is None else figures["psi"])
            level.add_metric([name], LEVELS.get(figures["level"], math.nan))
        for name, (share, total) in shares.items():
            agreement.add_metric([name], math.nan if share is None else share)
            verdicts.add_metric([name], total)
    return [psi, level, agreement, verdicts]


def _figures(model_version_id: int) -> tuple[dict, dict]:
    window = monitoring.monitoring_window()
    key = f"chexweb:monitoring-gauges:{model_version_id}:{window.until.isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = (
            monitoring.score_drift(model_version_id=model_version_id, periods=window.periods),
            monitoring.reviewer_agreement(model_version_id=model_version_id,
                                          since=window.agreement_since, until=window.until))
        cache.set(key, figures, FIGURES_KEPT_S)
    return figures
