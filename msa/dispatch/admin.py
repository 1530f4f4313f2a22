from django.contrib import admin

from msa.audit.admin import AuditedAdmin
from msa.dispatch.models import CentreBackup, Unit, UnitCrew


@admin.register(Unit)
class UnitAdmin(AuditedAdmin, admin.ModelAdmin[Unit]):
    list_display = ("call_sign", "police_zone", "kind", "status", "location_label")
    list_filter = ("police_zone", "status", "kind")
    exclude = ("avl_token",)  # issued with `msa unit avl-token CALLSIGN`


@admin.register(UnitCrew)
class UnitCrewAdmin(AuditedAdmin, admin.ModelAdmin[UnitCrew]):
    list_display = ("user", "unit")
    list_select_related = ("user", "unit")


@admin.register(CentreBackup)
class CentreBackupAdmin(AuditedAdmin, admin.ModelAdmin[CentreBackup]):
    list_display = ("centre", "backup")
