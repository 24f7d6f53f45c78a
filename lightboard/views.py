from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .navigation import main_screen_for


@login_required
def home(request):
    """Send each signed-in user to the main screen of their role."""
    url_name = main_screen_for(request.user)
    if url_name is None:
        return render(request, "no_role.html", status=403)
    return redirect(url_name)
