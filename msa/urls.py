from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from msa.core import views as core_views
from msa.dispatch.api import cic_api, unit_api
from msa.ingest.aml_api import api as aml_api
from msa.ingest.device_api import PREFIX as DEVICE_API_PREFIX
from msa.ingest.device_api import api as device_api
from msa.ingest.osmand_api import api as osmand_api
from msa.ingest.sms import api as sms_api

urlpatterns = [
    path("", core_views.landing, name="landing"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("msa.accounts.urls")),
    path("audit/", include("msa.audit.urls")),
    path("console/", include("msa.dispatch.urls")),
    path(DEVICE_API_PREFIX.lstrip("/"), device_api.urls),
    path("unit/", include("msa.dispatch.unit_urls")),
    path("api/unit/v1/", unit_api.urls),
    path("api/cic/v1/", cic_api.urls),
    path("api/sms/v1/", sms_api.urls),
    path("api/aml/v1/", aml_api.urls),
    path("api/osmand/v1/", osmand_api.urls),
    path("cases/", include("msa.cases.urls")),
    path("evaluation/", include("msa.evaluation.urls")),
    path("devices/", include("msa.devices.urls")),
    path("messages/", include("msa.messaging.urls")),
    path("stats/", include("msa.stats.urls")),
    path("admin/", admin.site.urls),
]
