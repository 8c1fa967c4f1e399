"""What a browser sends back for a form page: the rendered form's current values, changed as a test needs."""

from __future__ import annotations

from typing import Any

from django import forms


def _add(form: forms.BaseForm, data: dict[str, Any]) -> None:
    for bound in form:
        value = bound.value()
        if bound.widget_type == "checkbox":
            if value:
                data[bound.html_name] = "on"
        elif value is None:
            continue
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = str(value)


def form_data(response: Any, **changes: Any) -> dict[str, Any]:
    """The fields of the form on ``response``'s page as a browser would post them; ``changes`` override
    them (field names as in the HTML, with ``__`` for ``-``; None removes a field)."""
    context = response.context
    data: dict[str, Any] = {}
    if "group" in context:
        group = context["group"]
        _add(group.form, data)
        for formset in (group.emails, group.phones, group.organizations):
            for bound in formset.management_form:
                data[bound.html_name] = str(bound.value())
            for form in formset.forms:
                _add(form, data)
    else:
        _add(context["form"], data)
    for name, value in changes.items():
        key = name.replace("__", "-")
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data
