from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import IntegrationAccount


class IntegrationAccountForm(forms.ModelForm):
    class Meta:
        model = IntegrationAccount
        fields = ["name", "description", "access", "whole_group", "units", "is_active"]

    def clean(self):
        data = super().clean()
        if not data.get("whole_group") and not data.get("units"):
            raise forms.ValidationError(_("Choose the units the account reads, or the whole group."))
        return data


def _show_once(request, integration, token):
    messages.warning(
        request,
        gettext("The token of “%(name)s” is %(token)s — copy it now: it is stored only as a hash and shown only once.")
        % {"name": integration.name, "token": token},
    )


@admin.register(IntegrationAccount)
class IntegrationAccountAdmin(admin.ModelAdmin):
    form = IntegrationAccountForm
    list_display = ["name", "access", "whole_group", "token_prefix", "is_active", "last_used_at"]
    list_filter = ["access", "is_active"]
    search_fields = ["name"]
    filter_horizontal = ["units"]
    readonly_fields = ["token_prefix", "token_issued_at", "created_at", "last_used_at"]
    actions = ["issue_new_tokens"]

    def save_model(self, request, obj, form, change):
        """The account and its units are saved together by the service, which records who changed
        what it may do; a new account's token is shown once, to whoever created it (in their session)."""
        units = form.cleaned_data["units"]
        if change:
            services.change_integration(integration=obj, units=units, by=request.user)
        else:
            _show_once(request, obj, services.create_integration(integration=obj, units=units, by=request.user))

    def save_related(self, request, form, formsets, change):
        # The units were saved with the account (save_model); only inlines, if any, remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description=_("Issue a new token (the old one stops working)"), permissions=["change"])
    def issue_new_tokens(self, request, queryset):
        """Only those who may change an account (administrators) issue its tokens; each new token is
        shown once, in the issuer's session."""
        for integration in queryset:
            _show_once(request, integration, services.issue_token(integration=integration, by=request.user))
