from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tasks.queries import org_tree

from . import queries, services
from .models import IntegrationAccount


def _units_in_tree_order():
    """Every unit, each under its parent (depth first, siblings by code), named with the units
    above it ("甲公司 › 财务部"), so that two units of one name are told apart. One query."""
    tree = org_tree()
    ordered, todo = [], list(reversed(tree.children.get(None, [])))
    while todo:
        unit = todo.pop()
        ordered.append(unit)
        todo.extend(reversed(tree.children.get(unit.pk, [])))
    return [(unit.pk, " › ".join(above.name for above in tree.path(unit.pk))) for unit in ordered]


class IntegrationAccountForm(forms.ModelForm):
    class Meta:
        model = IntegrationAccount
        fields = ["name", "description", "access", "whole_group", "units", "is_active"]
        # Check boxes, not the two-list picker: that one writes its help in JavaScript from a
        # catalogue the admin does not load, so it read in English.
        widgets = {"units": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "units" in self.fields:
            self.fields["units"].choices = _units_in_tree_order()

    def clean(self):
        data = super().clean()
        if not data.get("whole_group") and not data.get("units"):
            raise forms.ValidationError(_("Choose the units the account reads, or the whole group."))
        return data


def _show_once(request, integration, token):
    # In a <code> element the whole token is selected and copied in one go (user-select: all).
    messages.warning(
        request,
        format_html(
            gettext("The token of “{name}” is {token} — copy it now: it is stored only as a hash and shown only once."),
            name=integration.name,
            token=format_html('<code class="api-token" style="user-select: all; font-size: 1.1em">{}</code>', token),
        ),
    )


@admin.register(IntegrationAccount)
class IntegrationAccountAdmin(admin.ModelAdmin):
    form = IntegrationAccountForm
    list_display = ["name", "access", "whole_group", "token_prefix", "is_active", "last_used_at"]
    list_filter = ["access", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "token_issued_at", "created_at", "last_used_at", "record_of_changes"]
    actions = ["issue_new_tokens"]
    issue_tokens_confirmation_template = "admin/api/integrationaccount/issue_tokens_confirmation.html"

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

    def construct_change_message(self, request, form, formsets, add=False):
        """Django's history stores the changed fields' labels in English ("Active") and translates
        them when it shows them, and the capitalised labels have no translation; store the fields'
        verbose names instead, which the catalogue has ("启用")."""
        message = super().construct_change_message(request, form, formsets, add)
        if form.changed_data:
            with translation.override(None):
                names = [str(self.model._meta.get_field(name).verbose_name) for name in form.changed_data]
            for part in message:
                if "changed" in part and "name" not in part["changed"]:
                    part["changed"]["fields"] = names
        return message

    @admin.display(description=_("History of changes"))
    def record_of_changes(self, integration):
        """Who created the account, changed what it may do, or issued it a token, and when (the
        audit trail keeps a token's first characters only)."""
        if integration.pk is None:
            return "—"
        return render_to_string(
            "admin/api/integrationaccount/history.html", {"rows": queries.account_history(integration)}
        )

    @admin.action(description=_("Issue a new token (the old one stops working)"), permissions=["change"])
    def issue_new_tokens(self, request, queryset):
        """Only those who may change an account (administrators) issue its tokens. The running
        integration loses access at once, so the action first asks (as deleting does); on "yes"
        each new token is shown once, in the issuer's session."""
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                self.issue_tokens_confirmation_template,
                {
                    **self.admin_site.each_context(request),
                    "title": _("Issue new tokens?"),
                    "opts": self.model._meta,
                    "queryset": queryset,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "media": self.media,
                },
            )
        for integration in queryset:
            _show_once(request, integration, services.issue_token(integration=integration, by=request.user))
