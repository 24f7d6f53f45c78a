from django.contrib import admin

from .models import DirectoryGroupMapping


@admin.register(DirectoryGroupMapping)
class DirectoryGroupMappingAdmin(admin.ModelAdmin):
    list_display = ["group_dn", "role", "department", "unit"]
    list_filter = ["role"]
    list_select_related = ["department", "unit"]
    search_fields = ["group_dn"]
    # Plain drop-down lists, not the autocomplete (select2) boxes: an empty one has no
    # accessible name (axe-core: aria-input-field-name).
