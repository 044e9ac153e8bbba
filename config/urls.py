from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api import views as accounts
from contacts.api import views as contacts
from mqa.api import learning, reports, series
from mqa.api import model_versions as scoring_models
from mqa.api import views as mqa
from mqa.http import problems
from mqa.ops import views as ops
from tracking.api import views as tracking

api = [
    path("accounts/bulk", accounts.AccountsBulkView.as_view()),
    path("accounts", accounts.AccountListView.as_view()),
    path("accounts/<str:domain>/readiness", accounts.AccountReadinessView.as_view()),
    path("accounts/<str:domain>/history", accounts.AccountHistoryView.as_view()),
    path("accounts/<str:domain>/series", series.AccountSeriesView.as_view()),
    path("signals/bulk", accounts.SignalsBulkView.as_view()),
    path("contacts/bulk", contacts.ContactsBulkView.as_view()),
    path("contacts/erase", contacts.ContactsEraseView.as_view()),
    path("contacts", contacts.ContactListView.as_view()),
    path("contacts/<int:contact_id>", contacts.ContactDetailView.as_view()),
    path("contacts/<int:contact_id>/history", contacts.ContactHistoryView.as_view()),
    path("events/bulk", contacts.EventsBulkView.as_view()),
    path("handoffs", mqa.HandoffListView.as_view()),
    path("handoffs/<int:handoff_id>/accept", mqa.HandoffAcceptView.as_view()),
    path("handoffs/<int:handoff_id>/reject", mqa.HandoffRejectView.as_view()),
    path("handoffs/<int:handoff_id>/outcome", mqa.HandoffOutcomeView.as_view()),
    path("handoffs/<int:handoff_id>/assign", mqa.HandoffAssignView.as_view()),
    path("routing", mqa.RoutingView.as_view()),
    path("scoring-models", scoring_models.ScoringModelsView.as_view()),
    path("scoring-models/active", mqa.ActiveScoringModelView.as_view()),
    path("scoring-models/<int:version_id>", scoring_models.ScoringModelDetailView.as_view()),
    path("scoring-models/<int:version_id>/preview", mqa.ScoringModelPreviewView.as_view()),
    path("scoring-models/<int:version_id>/publish", mqa.ScoringModelPublishView.as_view()),
    path(
        "scoring-models/<int:version_id>/rollback",
        scoring_models.ScoringModelRollbackView.as_view(),
    ),
    path("pipeline", mqa.PipelineView.as_view()),
    path("reports/funnel", reports.FunnelReportView.as_view()),
    path("reports/calibration", reports.CalibrationBacktestView.as_view()),
    path("reports/calibration/suggestion", learning.CalibrationSuggestionView.as_view()),
]

# The Segment/RudderStack Tracking API (SPEC §9): point a source's data plane URL here.
tracking_api = [
    path("identify", tracking.IdentifyView.as_view()),
    path("track", tracking.TrackView.as_view()),
    path("page", tracking.PageView.as_view()),
    path("screen", tracking.ScreenView.as_view()),
    path("group", tracking.GroupView.as_view()),
    path("alias", tracking.AliasView.as_view()),
    path("batch", tracking.BatchView.as_view()),
]

urlpatterns = [
    path("healthz", ops.healthz),
    path("readyz", ops.readyz),
    path("metrics", ops.metrics),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include(api)),
    path("v1/", include(tracking_api)),
    path("review/", include("mqa.review.urls")),
    path("", RedirectView.as_view(pattern_name="review:accounts", permanent=False)),
]


# Django's own error answers are problems on API paths too (SPEC §7).
handler400 = problems.handler400
handler403 = problems.handler403
handler404 = problems.handler404
handler500 = problems.handler500
