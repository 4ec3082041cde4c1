import pytest
from rest_framework.test import APIClient

from diagnoses.api.tokens import api_token_create

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_documents_every_operation_and_the_error_format(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/studies/", "/api/v1/studies/{study_id}/", "/api/v1/studies/{study_id}/rerun/",
        "/api/v1/studies/{study_id}/image/",
        "/api/v1/studies/{study_id}/predictions/{prediction_id}/heatmaps/{finding}.png",
        "/api/v1/studies/{study_id}/predictions/{prediction_id}/review/", "/api/v1/models/",
        "/api/v1/studies/{study_id}/dicom/{kind}", "/api/v1/studies/{study_id}/dicom/deliveries/",
        "/api/v1/studies/{study_id}/dicom/deliveries/{delivery_id}/resend/",
        "/api/v1/studies/{study_id}/fhir/",
    }
    create = schema["paths"]["/api/v1/studies/"]["post"]
    assert {"202", "400", "401", "403", "422", "429"} <= set(create["responses"])
    assert create["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert "bearerAuth" in schema["components"]["securitySchemes"]


def test_the_schema_needs_a_login(anonymous):
    assert anonymous.get("/api/v1/schema/").status_code == 401


@pytest.mark.parametrize("path, asset", [
    ("/api/v1/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
    ("/api/v1/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
])
def test_swagger_ui_and_redoc_come_from_local_static_files(client, clinician, path, asset):
    client.force_login(clinician)
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/static/{asset}" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get(f"/static/{asset}").status_code == 200
    # What the bundles might fetch by themselves (ReDoc's logo) the browser is told to refuse.
    assert "img-src 'self' data: blob:" in page["Content-Security-Policy"]
    assert "default-src 'self'" in page["Content-Security-Policy"]


def test_requests_are_throttled_per_user(settings, clinician, reviewer):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"user": "2/minute",
                                                          "anonymous": "2/minute"}}
    busy, other = APIClient(), APIClient()
    busy.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=clinician, name='a', days=1)[1]}")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=reviewer, name='b', days=1)[1]}")
    assert [busy.get("/api/v1/models/").status_code for _ in range(3)] == [200, 200, 429]
    throttled = busy.get("/api/v1/models/")
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert other.get("/api/v1/models/").status_code == 200
