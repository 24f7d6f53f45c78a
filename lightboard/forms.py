"""Form helpers shared by the apps' views."""


def add_service_errors(form, error):
    """Show a service's ValidationError on the form: field errors next to their field when the
    form has one, everything else at the top of the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            for item in errors:
                form.add_error(name if name in form.fields else None, item)
    else:
        for message in error.messages:
            form.add_error(None, message)
