from django.urls import path

from msa.evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/<str:reference>/", views.review_detail, name="review"),
    path("reviews/<str:reference>/findings/", views.review_findings, name="review_findings"),
    path("reviews/<str:reference>/actions/", views.review_action_new, name="review_action_add"),
    path(
        "reviews/<str:reference>/actions/done/",
        views.review_action_finish,
        name="review_action_done",
    ),
    path("reviews/<str:reference>/step/<str:transition>/", views.review_step, name="review_step"),
    path("cases/<str:reference>/survey/", views.case_survey, name="survey"),
    path("evidence/<str:reference>/", views.evidence_export, name="evidence"),
]
