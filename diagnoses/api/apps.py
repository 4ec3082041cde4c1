from django.apps import AppConfig


class ApiConfig(AppConfig):
    """An app of its own so that Celery finds diagnoses.api.tasks (callback deliveries)."""

    name = "diagnoses.api"
    label = "diagnoses_api"
    verbose_name = "ChexWeb API"
