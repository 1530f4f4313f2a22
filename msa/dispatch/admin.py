from django.contrib import admin

from msa.dispatch.models import Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin[Unit]):
    list_display = ("call_sign", "police_zone", "kind", "status", "location_label")
    list_filter = ("police_zone", "status", "kind")
