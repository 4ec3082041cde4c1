"""Results of unverified weights (the development stand-in) are not medical predictions: every
admin list that shows their probabilities says so, as every page of the web app does."""

from diagnoses.models import STANDIN_WARNING


class StandinWarning:
    """For a ModelAdmin whose rows show probabilities; `unverified(row)` says which come from
    unverified weights. Reads only the rows of the page (no extra query)."""

    def unverified(self, row) -> bool:
        raise NotImplementedError

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context and any(map(self.unverified, context["cl"].result_list)):
            context["standin_warning"] = STANDIN_WARNING
        return response
