from django.contrib import admin

from tenancy.models import Department, Membership, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "mode", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "cost_centre", "tenant"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "full_name", "role", "department", "tenant"]
    list_filter = ["role"]
    search_fields = ["user__username", "full_name"]
