from django.urls import path

from mqa.review import learning, reports, views

app_name = "review"
urlpatterns = [
    path("", views.accounts, name="accounts"),
    path("accounts.csv", views.accounts_csv, name="accounts_csv"),
    path("accounts/<str:domain>/", views.account, name="account"),
    path("leads/", views.leads, name="leads"),
    path("funnel/", reports.funnel, name="funnel"),
    path("funnel.csv", reports.funnel_csv, name="funnel_csv"),
    path("calibration/", reports.calibration, name="calibration"),
    path("calibration/draft", reports.calibration_draft, name="calibration_draft"),
    path(
        "calibration/suggestion-draft",
        learning.calibration_suggestion_draft,
        name="calibration_suggestion_draft",
    ),
    path("handoffs/<int:handoff_id>/accept", views.handoff_accept_view, name="handoff_accept"),
    path("handoffs/<int:handoff_id>/reject", views.handoff_reject_view, name="handoff_reject"),
    path("handoffs/<int:handoff_id>/assign", views.handoff_assign_view, name="handoff_assign"),
    path("handoffs/<int:handoff_id>/outcome", views.handoff_outcome_view, name="handoff_outcome"),
]
