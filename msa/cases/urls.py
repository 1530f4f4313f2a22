from django.urls import path

from msa.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("inventory/", views.inventory_list, name="inventory"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/assess/", views.case_assess, name="assess"),
    path("<str:reference>/decide/", views.case_decide, name="decide"),
    path("<str:reference>/renew/", views.case_renew, name="renew"),
    path("<str:reference>/reason/", views.case_reason, name="reason"),
    path("<str:reference>/pair/", views.case_pair, name="pair"),
    path("<str:reference>/note/", views.case_note, name="note"),
    path("<str:reference>/tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("<str:reference>/loans/<int:loan_id>/return/", views.case_return, name="return"),
    path(
        "<str:reference>/referrals/<int:referral_id>/",
        views.referral_status,
        name="referral_status",
    ),
    path("<str:reference>/step/<str:step>/", views.case_step, name="step"),
]
