"""Every URL of the web app, the API and the admin, walked as anonymous, a user without a role,
a clinician, a reviewer and an admin: each gets the expected status.

A URL pattern added without an expectation here fails `test_every_url_has_an_expectation`."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from diagnoses import services
from diagnoses.api.tokens import api_token_create
from diagnoses.threshold_suggestions import threshold_suggestion_create
from tests.factories import study_diagnosed, user_create

pytestmark = pytest.mark.django_db
ROLES = ("anonymous", "outsider", "clinician", "reviewer", "admin")
LOGIN = "login"  # a redirect to the log-in page
WEB = {"anonymous": LOGIN, "outsider": 403, "clinician": 200, "reviewer": 200, "admin": 200}
WEB_POST = {"anonymous": LOGIN, "outsider": 403, "clinician": 302, "reviewer": 302, "admin": 302}
REVIEW_POST = {**WEB_POST, "clinician": 403}
API = {"anonymous": 401, "outsider": 403, "clinician": 200, "reviewer": 200, "admin": 200}
API_DOCS = {**API, "outsider": 200}  # the contract, no patient data: any logged-in user
API_DOC_PAGES = {**API_DOCS, "anonymous": LOGIN}  # a browser without a session: the login page
STAFF = {"anonymous": LOGIN, "outsider": LOGIN, "clinician": LOGIN, "reviewer": 200, "admin": 200}
ADMIN_ONLY = {**STAFF, "reviewer": 403}
STAFF_POST = {**STAFF, "reviewer": 302, "admin": 302}
PUBLIC = dict.fromkeys(ROLES, 200)
TOKEN_PATHS = ("/api/", "/dicomweb/")  # bearer tokens (systems), not the browser's session


def expectations(ids) -> dict[str, tuple[str, str, dict, dict]]:
    """URL name -> (method, path, data, expected status per role)."""
    study, prediction = ids["study"], ids["prediction"]
    base = f"/studies/{study}"
    heat = f"{base}/predictions/{prediction}"
    api = f"/api/v1/studies/{study}"
    return {
        "login": ("get", "/accounts/login/", {}, PUBLIC),
        "password_change": ("get", "/accounts/password/", {}, {
            **dict.fromkeys(ROLES, 200), "anonymous": LOGIN}),
        "study-history": ("get", "/studies/", {}, WEB),
        "study-history-csv": ("get", "/studies/export.csv", {}, WEB),
        "study-upload": ("get", "/studies/new/", {}, WEB),
        "study-worklist": ("get", "/studies/worklist/", {}, WEB),
        "study-worklist-json": ("get", "/studies/worklist.json", {}, WEB),
        # pieces of a large upload: a form body is no JSON (400); no such upload (404)
        "study-upload-begin": ("post", "/studies/new/pieces/", {}, {
            **WEB, "clinician": 400, "reviewer": 400, "admin": 400}),
        "study-upload-piece": ("get", f"/studies/new/pieces/{'0' * 32}/", {}, {
            **WEB, "clinician": 404, "reviewer": 404, "admin": 404}),
        "study-upload-finish": ("post", f"/studies/new/pieces/{'0' * 32}/finish/", {}, {
            **WEB, "clinician": 404, "reviewer": 404, "admin": 404}),
        "patient-detail": ("get", "/studies/patient/?id=P-ACCESS", {}, WEB),
        "study-detail": ("get", f"{base}/", {}, WEB),
        "study-status": ("get", f"{base}/status/", {}, WEB),
        # the walked study is done: a page that shows it queued is answered at once
        "study-statuses": ("get", f"/studies/status/?known={study}:queued", {}, WEB),
        "study-image": ("get", f"{base}/image/", {}, WEB),
        "study-thumbnail": ("get", f"{base}/thumbnail.png", {}, WEB),
        "study-json": ("get", f"{base}/study.json", {}, WEB),
        "study-report": ("get", f"{base}/report.pdf", {}, WEB),
        "study-heatmap": ("get", f"{heat}/heatmaps/Effusion.png", {}, WEB),
        "study-heatmap-layer": ("get", f"{heat}/heatmap-layers/Effusion.png", {}, WEB),
        "study-viewer": ("get", f"{base}/viewer/", {}, WEB),
        "study-viewer-source": ("get", f"{base}/viewer/source.dcm", {}, WEB),
        # The walked study is its patient's only one: nothing to compare with, once allowed.
        "study-comparison": ("get", f"{base}/comparison/", {}, {
            **WEB, "clinician": 404, "reviewer": 404, "admin": 404}),
        "study-rerun": ("post", f"{base}/rerun/", {}, WEB_POST),
        # DICOM results exist only for studies received as DICOM (the walked one is a PNG): 404
        # once allowed; no such delivery to re-send: 404 once allowed.
        "study-dicom": ("get", f"{base}/dicom/sr.dcm", {}, {
            **WEB, "clinician": 404, "reviewer": 404, "admin": 404}),
        "study-dicom-resend": ("post", f"{base}/dicom/deliveries/999999/resend/", {}, {
            **WEB_POST, "clinician": 404, "reviewer": 404, "admin": 404}),
        "prediction-review": ("post", f"{heat}/review/", {"verdict_Effusion": "agree"},
                              REVIEW_POST),
        "api-study-list": ("get", "/api/v1/studies/", {}, API),
        "api-study-detail": ("get", f"{api}/", {}, API),
        "api-study-image": ("get", f"{api}/image/", {}, API),
        "api-study-heatmap": ("get", f"{api}/predictions/{prediction}/heatmaps/Effusion.png",
                              {}, API),
        "api-model-list": ("get", "/api/v1/models/", {}, API),
        "api-study-dicom": ("get", f"{api}/dicom/sr", {}, {
            **API, "clinician": 404, "reviewer": 404, "admin": 404}),
        "api-study-dicom-deliveries": ("get", f"{api}/dicom/deliveries/", {}, API),
        "api-study-dicom-resend": ("post", f"{api}/dicom/deliveries/999999/resend/", {}, {
            **API, "clinician": 404, "reviewer": 404, "admin": 404}),
        "api-study-fhir": ("get", f"{api}/fhir/", {}, API),
        # STOW-RS with no multipart body: refused as such once allowed.
        "dicomweb-stow": ("post", "/dicomweb/studies", {}, {
            **API, "clinician": 415, "reviewer": 415, "admin": 415}),
        "api-schema": ("get", "/api/v1/schema/", {}, API_DOCS),
        "api-docs": ("get", "/api/v1/docs/", {}, API_DOC_PAGES),
        "api-redoc": ("get", "/api/v1/redoc/", {}, API_DOC_PAGES),
        "api-prediction-review": ("post", f"{api}/predictions/{prediction}/review/",
                                  {"verdicts": {"Effusion": "agree"}, "note": "",
                                   "sign_off": False},
                                  {**API, "clinician": 403}),
        "api-study-rerun": ("post", f"{api}/rerun/", {}, {
            **API, "clinician": 202, "reviewer": 202, "admin": 202}),
        "validation": ("get", "/admin/validation/", {}, STAFF),
        "threshold-suggest": ("post", "/admin/validation/suggest/", {}, STAFF_POST),
        "threshold-suggestion": ("get", f"/admin/validation/suggestions/{ids['suggestion']}/",
                                 {}, STAFF),
        "threshold-suggestion-apply": (
            "post", f"/admin/validation/suggestions/{ids['suggestion']}/apply/", {},
            {**STAFF_POST, "reviewer": 403}),
        "monitoring": ("get", "/admin/monitoring/", {}, STAFF),
        "admin:index": ("get", "/admin/", {}, STAFF),
        "admin:diagnoses_study_changelist": ("get", "/admin/diagnoses/study/", {}, STAFF),
        "admin:diagnoses_study_change": ("get", f"/admin/diagnoses/study/{study}/change/", {},
                                         STAFF),
        "admin:diagnoses_auditevent_changelist": ("get", "/admin/diagnoses/auditevent/", {},
                                                  ADMIN_ONLY),
        "admin:diagnoses_modelversion_changelist": ("get", "/admin/diagnoses/modelversion/", {},
                                                    STAFF),
        "admin:diagnoses_modelversion_agreement": (
            "get", f"/admin/diagnoses/modelversion/{ids['model_version']}/agreement/", {},
            ADMIN_ONLY),
        "admin:auth_user_changelist": ("get", "/admin/auth/user/", {}, {
            **ADMIN_ONLY, "admin": 403}),
    }


# Patterns whose behaviour is tested elsewhere or that take no part in access control.
NOT_WALKED = {"logout", "password_change_done", "health", "metrics"}


def named_patterns(resolver=None, namespace="") -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace != "admin":
                names |= named_patterns(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


@pytest.fixture
def users(db):
    found = {"anonymous": None}
    for role in ROLES[1:]:
        found[role] = user_create(username=f"walk-{role}",
                                  role=None if role == "outsider" else role)
    return found


@pytest.fixture
def ids(users, model_server):
    study = study_diagnosed(uploaded_by=users["clinician"], patient_id="P-ACCESS")
    prediction = study.predictions.get()
    suggestion = threshold_suggestion_create(model_version=prediction.model_version,
                                             method="youden", user=users["admin"])
    return {"study": study.pk, "prediction": prediction.pk, "suggestion": suggestion.pk,
            "model_version": prediction.model_version_id}


def test_every_url_has_an_expectation(ids):
    walked = {name for name in expectations(ids) if not name.startswith("admin:")}
    assert named_patterns() - NOT_WALKED - walked == set()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_status_everywhere(users, ids, role):
    wrong = []
    for name, (method, path, data, expected_by_role) in expectations(ids).items():
        client = APIClient()
        user = users[role]
        if user is not None:
            if path.startswith(TOKEN_PATHS):
                _, key = api_token_create(user=user, name="walk", days=1)
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            else:
                client.force_login(user)
        if method == "post" and path.startswith(TOKEN_PATHS):
            response = client.post(path, data, format="json")
        else:
            response = getattr(client, method)(path, data)
        expected = expected_by_role[role]
        if expected == LOGIN:
            ok = response.status_code == 302 and "login" in response["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            wrong.append(f"{name} {method.upper()} {path}: {response.status_code}, "
                         f"expected {expected}")
        if method == "post" and "rerun" in name:
            services.study_fail(study_id=ids["study"], reason="walked")  # re-runnable again
    assert wrong == []
