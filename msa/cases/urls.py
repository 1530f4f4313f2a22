from django.urls import path

from msa.cases.views import applications, followup, pages, places, reason, steps

app_name = "cases"

urlpatterns = [
    path("", pages.case_list, name="list"),
    path("new/", pages.case_new, name="new"),
    path("applications/", applications.application_list, name="application_list"),
    path("applications/new/", applications.application_new, name="application_new"),
    path(
        "applications/<str:reference>/",
        applications.application_detail,
        name="application_detail",
    ),
    path(
        "applications/<str:reference>/decide/",
        applications.application_decide,
        name="application_decide",
    ),
    path("<str:reference>/", pages.case_detail, name="detail"),
    path("<str:reference>/assess/", pages.case_assess, name="assess"),
    path("<str:reference>/decide/", pages.case_decide, name="decide"),
    path("<str:reference>/renew/", pages.case_renew_view, name="renew"),
    path("<str:reference>/places/", places.case_places, name="places"),
    path("<str:reference>/reason/", reason.case_reason, name="reason"),
    path("<str:reference>/pair/", steps.case_pair, name="pair"),
    path("<str:reference>/note/", steps.case_note, name="note"),
    path("<str:reference>/tasks/<int:task_id>/done/", steps.task_done, name="task_done"),
    path("<str:reference>/loans/<int:loan_id>/return/", steps.case_return, name="return"),
    path(
        "<str:reference>/referrals/<int:referral_id>/",
        steps.referral_status,
        name="referral_status",
    ),
    path("<str:reference>/step/<str:step>/", steps.case_step, name="step"),
    path("<str:reference>/followup/<str:kind>/", followup.case_followup, name="followup"),
]
