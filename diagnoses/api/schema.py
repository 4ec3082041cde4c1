"""The OpenAPI schema documents the error answers each operation can give, in the one format."""

from drf_spectacular.openapi import AutoSchema

from diagnoses.api.errors import ErrorSerializer

ERRORS = {
    "400": "The request is invalid; `fields` says which parts and why.",
    "401": "No credentials, or an unknown, expired or revoked API token.",
    "403": "Your role does not allow this.",
    "404": "No such study, prediction or page.",
    "406": "The Accept header asks for a format the API cannot give.",
    "409": "The study is not in a state that allows this (e.g. re-run while it is running).",
    "413": "The file is over the size limit, or its image over the decoding budget (a side, "
           "the aspect ratio, the pixel count, the decoded or the resized size).",
    "415": "The request body is not in a format the operation accepts, or the file is not an "
           "accepted image (PNG, JPEG, DICOM without deflate).",
    "422": "The Idempotency-Key was already used for a different submission.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}


class ApiAutoSchema(AutoSchema):
    """Views may list extra error codes in `error_statuses`; every operation gets the common ones."""

    COMMON = ("400", "401", "403", "404", "406", "429")

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = list(self.COMMON)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        codes += [str(code) for code in getattr(self.view, "error_statuses", {}).get(
            self.method, ())]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ErrorSerializer, code, media_types=["application/json"])
                responses[code]["description"] = ERRORS[code]
        return responses
