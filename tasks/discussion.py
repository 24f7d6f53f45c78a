"""What a page with a discussion does with it: the pages of a task and of a follow-up case
show a thread and take a new comment the same way (the rules are in services and access)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from lightboard.forms import show_service_error

from . import access, queries, services
from .forms import CommentForm


def discussion(request, task, thread="", form=None, comments=None):
    """The context a page renders templates/partials/discussion.html with (`comments`: the
    thread's, when the page has read them already)."""
    may_instruct = access.may_instruct(request.user)
    return {
        "comments": queries.thread_comments(task, thread) if comments is None else comments,
        "comment_form": form or CommentForm(may_instruct=may_instruct, auto_id="comment-%s"),
        "may_instruct": may_instruct,
    }


def take_comment(request, task, thread=""):
    """A POSTed comment: (None, the redirect back to it) once written, or (the bound form with
    its errors, None)."""
    form = CommentForm(request.POST, may_instruct=access.may_instruct(request.user), auto_id="comment-%s")
    if form.is_valid():
        try:
            comment = services.post_comment(
                task=task,
                thread=thread,
                by=request.user,
                text=form.cleaned_data["text"],
                instruction=form.cleaned_data.get("instruction", False),
            )
        except ValidationError as error:
            show_service_error(error, form=form)
        else:
            tell_outcome(request, comment)
            return None, redirect(f"{access.thread_url(task, thread)}#comment-{comment.pk}")
    return form, None


def tell_outcome(request, comment):
    if comment.is_instruction:
        messages.success(request, _("Instruction recorded; the owner and the department are told."))
    else:
        messages.success(request, _("Comment added."))
    tell_outcome_of_mentions(request, comment)


def tell_outcome_of_mentions(request, comment):
    if getattr(comment, "told", None):
        names = "、".join(str(user) for user in comment.told)
        messages.info(request, _("Told: %(names)s") % {"names": names})
    if getattr(comment, "unknown", None):
        names = "、".join(f"@{name}" for name in comment.unknown)
        messages.warning(request, _("No one is called %(names)s: check the name.") % {"names": names})
    if comment.not_told:
        names = "、".join(str(user) for user in comment.not_told)
        messages.warning(request, _("Not told (they cannot see this discussion): %(names)s") % {"names": names})
