from django.contrib import admin

from .models import DirectoryGroupMapping


@admin.register(DirectoryGroupMapping)
class DirectoryGroupMappingAdmin(admin.ModelAdmin):
    list_display = ["group_dn", "role", "department", "unit"]
    list_filter = ["role"]
    list_select_related = ["department", "unit"]
    search_fields = ["group_dn"]
    autocomplete_fields = ["department", "unit"]
