"""The Celery tasks a worker finds, under the names messages already in Redis carry."""

from chexweb.celery import app


def test_a_worker_finds_every_task_under_the_name_it_was_queued_with():
    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    assert {
        "diagnoses.tasks.diagnose_study",
        "diagnoses.tasks.sweep_stuck_studies",
        "diagnoses.api.tasks.deliver_callback",  # it lived in diagnoses/api/tasks.py
    } <= set(app.tasks)
