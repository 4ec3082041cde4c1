"""Model versions in the admin: register the model a GraphPipe server serves, activate one (new
studies and re-runs go to it), and new threshold sets; threshold sets themselves are read-only.
Nothing here edits a model version or a threshold set in place: the services in
diagnoses/model_versions.py do every write."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from diagnoses import model_versions
from diagnoses.shadow_agreement import shadow_agreement
from diagnoses.admin.forms import ModelVersionRegisterForm, ThresholdsForm
from diagnoses.admin.read_only import ReadOnly
from diagnoses.audit import audit_record
from diagnoses.models import DEFAULT_THRESHOLD, ModelVersion, ThresholdSet
from inference.findings import FINDINGS


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "short_identity", "weights", "state", "reads_new_studies",
                    "serving_url",
                    "prediction_count", "first_seen_at")
    list_filter = ("state", "weights_verified")
    search_fields = ("name", "^identity", "^onnx_sha256", "^checkpoint_sha256")
    fields = ("name", "state", "serving_url", "weights", "identity", "onnx_sha256",
              "checkpoint_sha256", "description", "first_seen_at", "thresholds",
              "threshold_history")
    readonly_fields = fields

    @admin.display(description="Reads new studies")
    def reads_new_studies(self, model_version: ModelVersion) -> str:
        """Active (pinned), or, with none active, serving at GRAPHPIPE_URL as far as the newest
        prediction tells: "Is active ✗" read as "not in use" for the version that made them all."""
        reading, pinned = model_versions.model_version_reading_new_studies()  # a few rows
        if model_version.is_active:
            return "✓ active (pinned)"
        if model_version.state == ModelVersion.State.SHADOW:
            return "in shadow (readings kept for comparison only)"
        if reading is not None and reading.pk == model_version.pk and not pinned:
            return ("✓ serving (none pinned: the server at GRAPHPIPE_URL; made the newest "
                    "prediction)")
        return "—"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(prediction_count=Count("predictions"))

    def has_change_permission(self, request, obj=None):
        return False  # read-only page; activation and thresholds have their own views

    def has_delete_permission(self, request, obj=None):
        return False  # predictions name their model version

    def can_activate(self, request) -> bool:
        return request.user.has_perm("diagnoses.change_modelversion")

    def can_edit_thresholds(self, request) -> bool:
        return request.user.has_perm("diagnoses.add_thresholdset")

    def get_urls(self):
        def view(function, name):
            return path(f"<int:object_id>/{name}/", self.admin_site.admin_view(function),
                        name=f"diagnoses_modelversion_{name}")

        return [view(self.activate_view, "activate"), view(self.thresholds_view, "thresholds"),
                view(self.shadow_view, "shadow"), view(self.retire_view, "retire"),
                view(self.agreement_view, "agreement"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        model_version = self.get_object(request, unquote(object_id))  # None for a bad id
        extra_context = {**(extra_context or {}),
                         "can_activate": self.can_activate(request)}
        if model_version is not None and self.can_edit_thresholds(request):
            extra_context["thresholds_form"] = ThresholdsForm(
                thresholds=_current_thresholds(model_version),
                urgencies=_current_urgencies(model_version))
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """Register: the model version is what the server at the given URL says it serves."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ModelVersionRegisterForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            url = form.cleaned_data["serving_url"]
            try:
                model_version = model_versions.model_version_register_from_server(
                    serving_url=url, user=request.user)
            except ValidationError as error:
                form.add_error("serving_url", error)
            else:
                audit_record(user=request.user, action="change", channel="admin",
                             detail=f"registered model version {model_version.pk} at {url}")
                self.message_user(request, f"Registered {model_version}, served at {url}.",
                                  messages.SUCCESS)
                return redirect("admin:diagnoses_modelversion_change", model_version.pk)
        return self._page(request, "register.html", "Register a model version", form)

    def activate_view(self, request, object_id):
        return require_POST(self._activate)(request, object_id)

    def _activate(self, request, object_id):
        if not self.can_activate(request):
            raise PermissionDenied
        model_version = get_object_or_404(ModelVersion, pk=object_id)
        was = model_version.get_state_display().split(" (")[0].lower()
        before = model_versions.active_model_version()
        model_versions.model_version_activate(model_version=model_version, user=request.user)
        verb = "promoted shadow" if was == "shadow" else "activated"
        retired = f"; retired {before.pk}" if before and before.pk != model_version.pk else ""
        audit_record(user=request.user, action="change", channel="admin",
                     detail=f"{verb} model version {model_version.pk} ({model_version}){retired}")
        self.message_user(request, f"{model_version} is active: new studies and re-runs go to "
                          f"{model_version.serving_url or 'the server at GRAPHPIPE_URL'}.",
                          messages.SUCCESS)
        if model_version.warning:
            self.message_user(request, model_version.warning, messages.WARNING)
        return redirect("admin:diagnoses_modelversion_change", model_version.pk)

    def shadow_view(self, request, object_id):
        return require_POST(self._set_state)(request, object_id, "shadow")

    def retire_view(self, request, object_id):
        return require_POST(self._set_state)(request, object_id, "retire")

    def _set_state(self, request, object_id, state):
        """Put a version in shadow (it reads every study too, for comparison) or retire it."""
        if not self.can_activate(request):
            raise PermissionDenied
        model_version = get_object_or_404(ModelVersion, pk=object_id)
        change = (model_versions.model_version_shadow if state == "shadow"
                  else model_versions.model_version_retire)
        try:
            change(model_version=model_version, user=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            audit_record(user=request.user, action="change", channel="admin",
                         detail=f"model version {model_version.pk} ({model_version}): {state}")
            self.message_user(request, f"{model_version} is {model_version.get_state_display()}.",
                              messages.SUCCESS)
        return redirect("admin:diagnoses_modelversion_change", model_version.pk)

    def agreement_view(self, request, object_id):
        """A shadow version against the clinical readings, with "promote" (make it active).
        Admins only (who may activate): reviewers, clinicians too, never see shadow readings."""
        if not self.can_activate(request):
            raise PermissionDenied
        model_version = get_object_or_404(ModelVersion, pk=object_id)
        return TemplateResponse(
            request, "admin/diagnoses/modelversion/agreement.html",
            {**self.admin_site.each_context(request), "opts": self.opts,
             "title": f"Agreement of {model_version} with the clinical readings",
             "original": model_version, "agreement": shadow_agreement(model_version=model_version),
             "can_activate": self.can_activate(request)})

    def thresholds_view(self, request, object_id):
        if not self.can_edit_thresholds(request):
            raise PermissionDenied
        model_version = get_object_or_404(ModelVersion, pk=object_id)
        form = ThresholdsForm(request.POST or None,
                              thresholds=_current_thresholds(model_version),
                              urgencies=_current_urgencies(model_version))
        if request.method == "POST" and form.is_valid():
            try:
                threshold_set = model_versions.threshold_set_create(
                    model_version=model_version, thresholds=form.thresholds, user=request.user,
                    note=form.cleaned_data["note"], urgencies=form.urgencies)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                audit_record(user=request.user, action="change", channel="admin",
                             detail=f"threshold set {threshold_set.pk} for model version "
                                    f"{model_version.pk}")
                self.message_user(request, f"New threshold set #{threshold_set.pk}: new "
                                  "predictions are flagged with it; earlier ones keep theirs.",
                                  messages.SUCCESS)
                return redirect("admin:diagnoses_modelversion_change", model_version.pk)
        return self._page(request, "thresholds.html", f"Thresholds of {model_version}", form,
                          original=model_version)

    def _page(self, request, template, title, form, **context):
        return TemplateResponse(
            request, f"admin/diagnoses/modelversion/{template}",
            {**self.admin_site.each_context(request), "opts": self.opts, "title": title,
             "form": form, **context},
            status=400 if form.errors else 200,
        )

    @admin.display(description="weights", ordering="weights_verified")
    def weights(self, model_version):
        return "verified published CheXNet" if model_version.weights_verified else "UNVERIFIED"

    @admin.display(description="predictions", ordering="prediction_count")
    def prediction_count(self, model_version):
        return model_version.prediction_count

    @admin.display(description="current thresholds")
    def thresholds(self, model_version):
        return thresholds_table(_current_thresholds(model_version))

    @admin.display(description="threshold sets")
    def threshold_history(self, model_version):
        sets = model_version.threshold_sets.select_related("created_by").order_by(
            "-created_at", "-pk")
        return format_html_join(
            "", '<div><a href="{}">#{}</a> {} by {}: {}</div>',
            ((reverse("admin:diagnoses_thresholdset_change", args=[s.pk]), s.pk,
              f"{timezone.localtime(s.created_at):%Y-%m-%d %H:%M}", s.created_by or "—",
              s.note or "no note") for s in sets),
        ) or "none yet: every finding at 0.5 until a set is made"


@admin.register(ThresholdSet)
class ThresholdSetAdmin(ReadOnly, admin.ModelAdmin):
    """Never edited: predictions keep the set they were flagged with; a new set is made on its
    model version's page."""

    list_display = ("__str__", "model_version", "created_by", "created_at", "note")
    list_select_related = ("model_version", "created_by")
    list_filter = ("model_version",)
    fields = ("model_version", "created_by", "created_at", "note", "thresholds_table")
    readonly_fields = fields

    @admin.display(description="thresholds")
    def thresholds_table(self, threshold_set):
        return thresholds_table(threshold_set.thresholds)


def _current_thresholds(model_version: ModelVersion) -> dict[str, float]:
    """The newest set's values, or the default every prediction would get (without making it)."""
    current = model_version.current_threshold_set()
    values = current.thresholds if current else {}
    return {name: values.get(name, DEFAULT_THRESHOLD) for name in FINDINGS}


def _current_urgencies(model_version: ModelVersion) -> dict[str, str]:
    current = model_version.current_threshold_set()
    return current.urgencies if current else {}


def thresholds_table(thresholds: dict[str, float]):
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>",
                            ((name.replace("_", " "), thresholds.get(name, "—"))
                             for name in FINDINGS))
    return format_html("<table><tr><th>Finding</th><th>Threshold</th></tr>{}</table>", rows)
