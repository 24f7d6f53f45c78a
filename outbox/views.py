from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import access, queries, services
from .forms import PreferencesForm


@login_required
def inbox(request):
    """The in-app inbox: the notification rows themselves, unread ones marked. Reading the
    list changes nothing; opening a message (or "mark all as read") does."""
    return render(request, "outbox/inbox.html", {"notifications": queries.inbox(request.user)})


@login_required
def inbox_count(request):
    """The unread count in the header, refreshed by htmx."""
    return render(request, "base.html#inbox-count", {"unread_count": queries.unread_count(request.user)})


@require_POST
@login_required
def open_notification(request, notification_id):
    """Mark the message read and go where it points (the inbox when it points nowhere)."""
    notification = access.get_notification_for_user(request.user, notification_id)
    services.mark_read(notification=notification)
    if notification.link and url_has_allowed_host_and_scheme(notification.link, allowed_hosts=None):
        return redirect(notification.link)
    return redirect("inbox:index")


@require_POST
@login_required
def read_all(request):
    services.mark_all_read(recipient=request.user)
    return redirect("inbox:index")


@login_required
def preferences(request):
    """How the person wants each kind of message e-mailed: at once or in the daily digest."""
    rows = queries.preferences(request.user, access.categories_for(request.user))
    form = PreferencesForm(request.POST if request.method == "POST" else None, rows=rows)
    if request.method == "POST" and form.is_valid():
        services.set_preferences(user=request.user, modes=form.cleaned_data)
        messages.success(request, _("Your choices are saved."))
        return redirect("inbox:preferences")
    return render(request, "outbox/preferences.html", {"form": form})
