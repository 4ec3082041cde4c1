from tests.diagnoses.conftest import (  # noqa: F401 (fixtures shared with the app's tests)
    clinician,
    logged_in,
    model_server,
    outsider,
    reviewer,
    study_storage,
)
