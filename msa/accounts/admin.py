from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from msa.accounts.models import Membership, Organisation, User


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 1


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    inlines = (MembershipInline,)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ("name", "code", "kind", "covered_by", "time_zone")
    list_filter = ("kind",)
    search_fields = ("name", "code")
